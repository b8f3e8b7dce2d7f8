/**
 * Why dnsd has its own wire codec: parse a query and build the response
 * (one A record, EDNS OPT echoed) with dns2's Packet vs dnsd's wire.ts, on
 * the same machine in the same run. Run: node_modules/.bin/tsx bench/dnsd/codec.ts
 */
import dns2 from 'dns2';
import { Type, encodeQuery, encodeResponse, parseQuery } from '../../packages/dnsd/src/wire.js';

const query = encodeQuery(1, 'frontend.default.svc.cluster.local', Type.A, { edns: { udpSize: 1232, version: 0, dnssecOk: false } });
const ROUNDS = 50_000;

function time(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) fn();
  return Number(process.hrtime.bigint() - t0) / ROUNDS / 1000;
}

const Packet = (dns2 as unknown as { Packet: any }).Packet;
const viaDns2 = time(() => {
  const req = Packet.parse(query);
  const res = new Packet(req);
  res.header.qr = 1;
  res.header.aa = 1;
  res.answers.push({ name: req.questions[0].name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 5, address: '10.0.0.50' });
  res.additionals.push(Packet.Resource.EDNS([]));
  res.toBuffer();
});
const viaWire = time(() => {
  const q = parseQuery(query);
  encodeResponse(
    {
      id: q.id,
      queryFlags: q.flags,
      rcode: 0,
      aa: true,
      questionBytes: q.questionBytes,
      answer: [{ name: q.labels.join('.'), ttl: 5, data: { type: Type.A, address: '10.0.0.50' } }],
      edns: { udpSize: 1232, dnssecOk: false },
    },
    1232,
  );
});
console.log('| codec: parse query + build response (1 A, OPT) | µs per query | queries/s on one core |');
console.log('| --- | --- | --- |');
console.log(`| dns2 Packet.parse + toBuffer | ${viaDns2.toFixed(2)} | ${Math.round(1e6 / viaDns2)} |`);
console.log(`| dnsd wire.ts parseQuery + encodeResponse | ${viaWire.toFixed(2)} | ${Math.round(1e6 / viaWire)} |`);
console.log(`| ratio dns2/wire.ts | ${(viaDns2 / viaWire).toFixed(1)} | |`);
