/** Every error the store raises on purpose has a code a face can map to its protocol. */
export class StoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NoSuchKeyError extends StoreError {
  constructor(readonly key: string) {
    super('NoSuchKey', `no object with key ${JSON.stringify(key)}`);
  }
}

export class InvalidKeyError extends StoreError {
  constructor(reason: string) {
    super('InvalidKey', reason);
  }
}

export class InvalidRangeError extends StoreError {
  constructor(readonly objectSize: number) {
    super('InvalidRange', `range not satisfiable for an object of ${objectSize} bytes`);
  }
}

export class PreconditionFailedError extends StoreError {
  constructor(message: string) {
    super('PreconditionFailed', message);
  }
}

export class EntityTooLargeError extends StoreError {
  constructor(limit: number) {
    super('EntityTooLarge', `object exceeds the limit of ${limit} bytes`);
  }
}

/** Stored bytes failed a check. The read stops; wrong bytes are never returned. */
export class CorruptChunkError extends StoreError {
  constructor(
    message: string,
    readonly container: number,
    readonly offset: number,
    readonly fingerprint: string,
  ) {
    super('CorruptChunk', `${message} (container ${container}, offset ${offset}, chunk ${fingerprint})`);
  }
}

/** The index names a chunk that is not there. */
export class MissingChunkError extends StoreError {
  constructor(readonly fingerprint: string) {
    super('MissingChunk', `chunk ${fingerprint} is not in the index`);
  }
}

export class StoreClosedError extends StoreError {
  constructor() {
    super('StoreClosed', 'the store is closed');
  }
}

export class StoreLockedError extends StoreError {
  constructor(dir: string, pid: number) {
    super('StoreLocked', `${dir} is in use by process ${pid}`);
  }
}

export class NoSuchUploadError extends StoreError {
  constructor(readonly uploadId: string) {
    super('NoSuchUpload', 'the upload does not exist: it may have been aborted or completed');
  }
}

/** A part named in a completion is missing or is not the one uploaded. */
export class InvalidPartError extends StoreError {
  constructor(message: string) {
    super('InvalidPart', message);
  }
}

export class InvalidPartOrderError extends StoreError {
  constructor() {
    super('InvalidPartOrder', 'the parts must be listed in ascending order of part number, each once');
  }
}

export class EntityTooSmallError extends StoreError {
  constructor(partNumber: number, minimum: number) {
    super('EntityTooSmall', `part ${partNumber} is smaller than the minimum of ${minimum} bytes (only the last part may be)`);
  }
}

/** Offered chunks that are not what they claim to be: the whole batch is refused, nothing stored. */
export class BadChunkError extends StoreError {
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super('BadChunk', `chunk ${index} of the batch: ${reason}`);
  }
}

/** A composed recipe names chunks the unit does not hold: nothing of the batch is applied. */
export class MissingChunksError extends StoreError {
  constructor(
    /** Hex fingerprints, the first few of them. */
    readonly missing: string[],
    readonly total: number,
  ) {
    super('MissingChunks', `${total} chunk(s) named by the recipe are not in the unit (first: ${missing[0]})`);
  }
}

/** A composed recipe names a chunk with a length other than the one it has. */
export class ChunkLengthMismatchError extends StoreError {
  constructor(fingerprint: string, claimed: number, actual: number) {
    super('ChunkLengthMismatch', `chunk ${fingerprint} is ${actual} bytes long, not ${claimed}`);
  }
}

/** What a composed object turned out to be differs from what its writer expected. */
export class CompositionMismatchError extends StoreError {
  constructor(message: string) {
    super('CompositionMismatch', message);
  }
}
