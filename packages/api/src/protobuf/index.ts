export { ProtobufError, WireReader, readFields, type WireField } from './wire.js';
export { K8S_PROTOBUF_MAGIC, PROTOBUF_CONTENT_TYPE, decodeEnvelope, hasProtobufMagic, type Envelope } from './envelope.js';
export { decodeMessage, type FieldDesc, type MessageDesc, type Scalar, type Special } from './schema.js';
export { CORE_V1_KINDS, CORE_V1_MESSAGES } from './core-v1.js';
export { UnknownProtobufKindError, decodeKubernetesProtobuf } from './decode.js';
