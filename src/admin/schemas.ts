/** JSON schemas of the admin API: they validate requests, shape responses and make the OpenAPI document. */

const nullableBytes = { type: ['integer', 'null'], minimum: 0 } as const;

export const quotaSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { soft: nullableBytes, hard: nullableBytes },
} as const;

const statsSchema = {
  type: 'object',
  properties: Object.fromEntries(
    [
      'logicalBytes',
      'objects',
      'dataChunks',
      'uniqueBytes',
      'storedDataBytes',
      'recipeChunks',
      'storedRecipeBytes',
      'storedBytes',
      'containers',
      'containerBytes',
      'dedupFactor',
      'compressionFactor',
      'reductionFactor',
    ].map((k) => [k, { type: 'number' }]),
  ),
} as const;

const collectionProperties = {
  ...Object.fromEntries(
    [
      'startedMs',
      'durationMs',
      'containersExamined',
      'containersRemoved',
      'containersRewritten',
      'containersSkipped',
      'chunksMoved',
      'bytesCopied',
      'compactBelow',
      'chunksRemoved',
      'bytesFreed',
      'waitedSeconds',
    ].map((k) => [k, { type: 'number' }]),
  ),
  marked: { type: 'object', properties: { roots: { type: 'integer' }, nodes: { type: 'integer' }, chunks: { type: 'integer' } } },
};

const reclaimEstimateProperties = Object.fromEntries(
  ['atMs', 'durationMs', 'liveChunks', 'deadChunks', 'deadBytes', 'deadDataRawBytes', 'emptyContainers', 'sparseContainers', 'reclaimableBytes', 'compactBelow'].map((k) => [k, { type: 'number' }]),
);

export const unitSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    createdMs: { type: 'integer' },
    parameters: {
      type: 'object',
      properties: {
        chunking: {
          type: 'object',
          properties: {
            algorithm: { type: 'string' },
            minSize: { type: 'integer' },
            avgSize: { type: 'integer' },
            maxSize: { type: 'integer' },
            gearSeed: { type: 'string' },
          },
        },
        fingerprint: { type: 'string' },
        compression: { type: 'object', properties: { codec: { type: 'string' }, level: { type: 'integer' } } },
        containerSize: { type: 'integer' },
      },
    },
    quota: { type: 'object', properties: { soft: nullableBytes, hard: nullableBytes } },
    quotaState: { type: 'string', enum: ['ok', 'soft-exceeded', 'hard-reached'] },
    stats: statsSchema,
    traffic: { type: 'object', properties: { bytesIn: { type: 'number' }, bytesOut: { type: 'number' } } },
    reclaim: { type: ['object', 'null'], description: 'the last reclaim estimate, or null', properties: reclaimEstimateProperties },
    lastCollection: { type: ['object', 'null'], description: 'the last garbage collection, or null', properties: collectionProperties },
    gcPolicy: { type: 'object', properties: { intervalSeconds: { type: ['integer', 'null'] }, compactBelow: { type: 'number' } } },
  },
} as const;

const compactBelow = { type: 'number', minimum: 0, maximum: 1, description: 'sealed containers with a smaller live share are compacted (0: never, 1: whenever anything in them is dead)' } as const;

export const gcPolicyBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    intervalSeconds: { type: ['integer', 'null'], minimum: 60, maximum: 366 * 24 * 3600, description: 'seconds between scheduled collections; null: none' },
    compactBelow,
  },
} as const;

export const gcRunBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { compactBelow },
} as const;

export const createUnitBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 63 },
    quota: quotaSchema,
    avgChunkSize: { type: 'integer', minimum: 1024, maximum: 4194304 },
    compressionLevel: { type: 'integer', minimum: -7, maximum: 19 },
    containerSize: { type: 'integer', minimum: 65536, maximum: 1073741824 },
  },
} as const;

export const setQuotaBody = {
  type: 'object',
  additionalProperties: false,
  required: ['soft', 'hard'],
  properties: { soft: nullableBytes, hard: nullableBytes },
} as const;

const grantSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['unit', 'access'],
  properties: { unit: { type: 'string', minLength: 1, maxLength: 63 }, access: { type: 'string', enum: ['read-write', 'read-only'] } },
} as const;

export const keySchema = {
  type: 'object',
  properties: {
    accessKeyId: { type: 'string' },
    kind: { type: 'string', enum: ['admin', 'unit'] },
    description: { type: 'string' },
    createdMs: { type: 'integer' },
    revokedMs: { type: ['integer', 'null'] },
    grants: { type: 'array', items: { type: 'object', properties: { unit: { type: 'string' }, access: { type: 'string' } } } },
  },
} as const;

export const issuedKeySchema = {
  type: 'object',
  properties: { ...keySchema.properties, secretAccessKey: { type: 'string' } },
} as const;

export const createKeyBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    admin: { type: 'boolean' },
    grants: { type: 'array', items: grantSchema, maxItems: 1000 },
    description: { type: 'string', maxLength: 256 },
  },
} as const;

export const jobSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string' },
    unit: { type: 'string' },
    state: { type: 'string', enum: ['running', 'succeeded', 'failed'] },
    startedMs: { type: 'integer' },
    finishedMs: { type: ['integer', 'null'] },
    // One schema for every kind: verify fills the first group of fields, reclaim-estimate the second.
    progress: {
      type: ['object', 'null'],
      properties: {
        phase: { type: 'string' },
        done: { type: 'integer' },
        total: { type: 'integer' },
        roots: { type: 'integer' },
        nodes: { type: 'integer' },
        chunks: { type: 'integer' },
      },
    },
    result: {
      type: ['object', 'null'],
      properties: {
        ok: { type: 'boolean' },
        containersChecked: { type: 'integer' },
        recordsChecked: { type: 'integer' },
        bytesChecked: { type: 'integer' },
        damagedRecords: {
          type: 'array',
          items: { type: 'object', properties: { container: { type: 'integer' }, offset: { type: 'integer' }, reason: { type: 'string' } } },
        },
        badChunks: { type: 'array', items: { type: 'string' } },
        objectsChecked: { type: 'integer' },
        damagedObjects: { type: 'array', items: { type: 'string' } },
        durationMs: { type: 'integer' },
        ...reclaimEstimateProperties,
        ...collectionProperties,
      },
    },
    error: { type: ['string', 'null'] },
  },
} as const;

export const systemStatsSchema = {
  type: 'object',
  properties: {
    system: {
      type: 'object',
      properties: Object.fromEntries(
        ['units', 'logicalBytes', 'uniqueBytes', 'storedBytes', 'containerBytes', 'objects', 'bytesIn', 'bytesOut'].map((k) => [k, { type: 'number' }]),
      ),
    },
    units: { type: 'array', items: unitSchema },
  },
} as const;

export const problemSchema = {
  type: 'object',
  properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' } },
} as const;

export const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: 255 } },
} as const;
