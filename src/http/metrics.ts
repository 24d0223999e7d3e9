import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UnitInfo, UnitRegistry } from '../units/unit-registry.js';
import { socketBodies, socketReads } from './socket-body.js';

/**
 * Prometheus metrics: per-unit gauges read from the stores at scrape time,
 * request counts and latencies per face and operation, bytes in and out.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'face' | 'operation' | 'status'>;
  readonly latency: Histogram<'face' | 'operation'>;
  readonly bytesIn: Counter<'unit'>;
  readonly bytesOut: Counter<'unit'>;
  private scraped: Map<string, UnitInfo> | null = null;

  constructor(units: UnitRegistry) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'cairn_requests_total',
      help: 'Requests answered, by face, operation and HTTP status.',
      labelNames: ['face', 'operation', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'cairn_request_duration_seconds',
      help: 'Time from request to response, by face and operation.',
      labelNames: ['face', 'operation'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    // Per-unit figures are read at scrape time; a unit may go away between listing and reading it.
    const eachUnit = (fn: (unit: string) => void): void => {
      for (const unit of units.names()) {
        try {
          fn(unit);
        } catch {
          // Gone: it is simply not in this scrape.
        }
      }
    };
    // The units count their own traffic; these read it at scrape time.
    const trafficCounter = (name: string, help: string, read: (t: { bytesIn: number; bytesOut: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['unit'],
        registers,
        collect() {
          this.reset();
          eachUnit((unit) => this.inc({ unit }, read(units.unit(unit).traffic)));
        },
      });
    new Counter({
      name: 'cairn_request_bodies_total',
      help: 'Request bodies of 2 MiB or more with a Content-Length, by how they were read: "socket" straight from the socket, "parser" through the HTTP parser (the socket could not be taken over), "abandoned" (stopped half-read: a refusal or a lost client).',
      labelNames: ['read'],
      registers,
      collect() {
        this.reset();
        for (const [read, n] of Object.entries(socketBodies)) this.inc({ read }, n);
      },
    });
    new Counter({
      name: 'cairn_request_body_reads_total',
      help: 'Socket reads of the bodies read straight from the socket, by where they landed: "landed" in the batch buffer itself (no copy), "buffered" in a read buffer and copied from there.',
      labelNames: ['into'],
      registers,
      collect() {
        this.reset();
        for (const [into, n] of Object.entries(socketReads)) this.inc({ into }, n);
      },
    });
    this.bytesIn = trafficCounter('cairn_bytes_in_total', 'Object bytes received since start, by unit.', (t) => t.bytesIn);
    this.bytesOut = trafficCounter('cairn_bytes_out_total', 'Object bytes sent since start, by unit.', (t) => t.bytesOut);
    // A scrape reads each unit's figures once, not once per gauge: one consistent snapshot, a handful of reads each.
    const infoOf = (unit: string): UnitInfo => {
      if (!this.scraped) return units.info(unit);
      let info = this.scraped.get(unit);
      if (!info) this.scraped.set(unit, (info = units.info(unit)));
      return info;
    };
    const unitGauge = (name: string, help: string, read: (s: UnitInfo) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['unit'],
        registers,
        collect() {
          this.reset();
          eachUnit((unit) => this.set({ unit }, read(infoOf(unit))));
        },
      });
    };
    unitGauge('cairn_unit_logical_bytes', 'Bytes of all objects as written.', (i) => i.stats.logicalBytes);
    unitGauge('cairn_unit_unique_bytes', 'Bytes of distinct chunks before compression.', (i) => i.stats.uniqueBytes);
    unitGauge('cairn_unit_stored_bytes', 'Bytes of chunks and recipes as stored.', (i) => i.stats.storedBytes);
    unitGauge('cairn_unit_container_bytes', 'Bytes of container files on disk.', (i) => i.stats.containerBytes);
    unitGauge('cairn_unit_objects', 'Objects in the unit.', (i) => i.stats.objects);
    unitGauge('cairn_unit_chunks', 'Distinct data chunks in the unit.', (i) => i.stats.dataChunks);
    unitGauge('cairn_unit_containers', 'Containers in the unit.', (i) => i.stats.containers);
    unitGauge('cairn_unit_dedup_factor', 'Logical bytes over unique bytes.', (i) => i.stats.dedupFactor);
    unitGauge('cairn_unit_compression_factor', 'Unique bytes over stored bytes.', (i) => i.stats.compressionFactor);
    unitGauge('cairn_unit_quota_soft_bytes', 'Soft quota on logical bytes (-1: none).', (i) => i.quota.soft ?? -1);
    unitGauge('cairn_unit_quota_hard_bytes', 'Hard quota on logical bytes (-1: none).', (i) => i.quota.hard ?? -1);
    unitGauge('cairn_unit_quota_exceeded', '1 once logical bytes pass the soft quota (or reach the hard one).', (i) => (i.quotaState === 'ok' ? 0 : 1));
  }

  /** The exposition text of every metric, each unit's figures read once for all of them. */
  async scrape(): Promise<string> {
    this.scraped = new Map();
    try {
      return await this.registry.metrics();
    } finally {
      this.scraped = null;
    }
  }
}
