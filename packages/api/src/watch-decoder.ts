/**
 * Incremental decoder for a watch stream: newline-delimited JSON WatchEvents
 * arriving in arbitrary chunks (a chunk may end mid-line or mid-character).
 * Pure, so the framing rules are unit-tested without sockets.
 */
import { StringDecoder } from 'node:string_decoder';
import type { KubeObject, WatchEvent, WatchEventType } from './types.js';

const TYPES: readonly WatchEventType[] = ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'];

export class WatchDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchDecodeError';
  }
}

export class WatchDecoder<T extends KubeObject = KubeObject> {
  private readonly text = new StringDecoder('utf8');
  private buffered = '';
  /** Where to resume looking for a newline, so a long event split in many chunks is not rescanned. */
  private scanned = 0;

  /** Feeds one chunk; returns the events completed by it, in order. */
  push(chunk: Buffer | string): WatchEvent<T>[] {
    this.buffered += typeof chunk === 'string' ? chunk : this.text.write(chunk);
    const events: WatchEvent<T>[] = [];
    let start = 0;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n', Math.max(start, this.scanned))) >= 0) {
      const ev = parseLine<T>(this.buffered.slice(start, nl));
      if (ev) events.push(ev);
      start = nl + 1;
      this.scanned = 0;
    }
    this.buffered = this.buffered.slice(start);
    this.scanned = this.buffered.length;
    return events;
  }

  /**
   * Ends the stream. A final event without a trailing newline is still
   * accepted (some servers omit it); a truncated one is an error.
   */
  end(): WatchEvent<T>[] {
    this.buffered += this.text.end();
    const rest = this.buffered;
    this.buffered = '';
    this.scanned = 0;
    const ev = parseLine<T>(rest);
    return ev ? [ev] : [];
  }
}

function parseLine<T extends KubeObject>(line: string): WatchEvent<T> | undefined {
  const s = line.trim();
  if (s === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (err) {
    throw new WatchDecodeError(`malformed watch event (${(err as Error).message}): ${s.slice(0, 200)}`);
  }
  if (typeof v !== 'object' || v === null) throw new WatchDecodeError(`watch event is not an object: ${s.slice(0, 200)}`);
  const { type, object } = v as { type?: unknown; object?: unknown };
  if (!TYPES.includes(type as WatchEventType)) throw new WatchDecodeError(`watch event has unknown type ${JSON.stringify(type)}`);
  if (typeof object !== 'object' || object === null) throw new WatchDecodeError(`watch event ${String(type)} has no object`);
  return { type: type as WatchEventType, object: object as T };
}
