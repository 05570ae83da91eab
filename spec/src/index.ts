/**
 * The JSR IPC protocol as data: loading, validation and look-ups.
 *
 * @module kkcm/spec
 */
export { crossReferenceViolations, fixedSize, loadSpec, validateSpec } from './load.js';
export { SpecModel, type HandshakeMessageInfo, type MessageInfo } from './model.js';
export { defaultSpecPath, packageRoot, specSchemaPath } from './paths.js';
export { SpecError, type SpecViolation } from './spec-error.js';
export type * from './types.js';
export {
  loadVectors,
  validateVectorFile,
  vectorFilePath,
  vectorViolations,
  type InvalidVector,
  type ValidVector,
  type Vector,
  type VectorDecodeOptions,
  type VectorError,
  type VectorExpectError,
  type VectorExpectMessages,
  type VectorField,
  type VectorHeader,
  type VectorJson,
  type VectorKind,
  type VectorMessage,
  type VectorSet,
} from './vectors.js';
