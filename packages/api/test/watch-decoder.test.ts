import { WatchDecoder, WatchDecodeError } from '../src/watch-decoder.js';

const ev = (type: string, name: string, rv: number) => JSON.stringify({ type, object: { kind: 'Pod', metadata: { name, resourceVersion: String(rv) } } });

describe('watch stream decoding', () => {
  it('decodes events split at arbitrary byte boundaries, in order', () => {
    const text = `${ev('ADDED', 'a', 1)}\n${ev('MODIFIED', 'ä-ü', 2)}\n${ev('DELETED', 'a', 3)}\n`;
    const bytes = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3, 7, 50, bytes.length]) {
      const d = new WatchDecoder();
      const got = [];
      for (let i = 0; i < bytes.length; i += size) got.push(...d.push(bytes.subarray(i, i + size)));
      got.push(...d.end());
      expect(got.map((e) => `${e.type}:${e.object.metadata.name}:${e.object.metadata.resourceVersion}`)).toEqual([
        'ADDED:a:1',
        'MODIFIED:ä-ü:2',
        'DELETED:a:3',
      ]);
    }
  });

  it('holds a partial line until its newline arrives', () => {
    const d = new WatchDecoder();
    const line = ev('ADDED', 'a', 1);
    expect(d.push(line.slice(0, 10))).toEqual([]);
    expect(d.push(line.slice(10))).toEqual([]);
    expect(d.push('\n')).toHaveLength(1);
  });

  it('accepts a last event without a newline, and blank lines between events', () => {
    const d = new WatchDecoder();
    expect(d.push(`\n${ev('ADDED', 'a', 1)}\n\r\n`)).toHaveLength(1);
    expect(d.push(ev('BOOKMARK', '', 9))).toEqual([]);
    expect(d.end().map((e) => e.type)).toEqual(['BOOKMARK']);
  });

  it('rejects malformed JSON, unknown types and truncated final events', () => {
    expect(() => new WatchDecoder().push('{nope}\n')).toThrow(WatchDecodeError);
    expect(() => new WatchDecoder().push('{"type":"SNAPSHOT","object":{}}\n')).toThrow(/unknown type "SNAPSHOT"/);
    expect(() => new WatchDecoder().push('{"type":"ADDED"}\n')).toThrow(/has no object/);
    const d = new WatchDecoder();
    d.push('{"type":"ADDED","obj');
    expect(() => d.end()).toThrow(/malformed watch event/);
  });
});
