// Public API of @pipeline/model-registry: model versions on the compacted model topic (chunked
// publish, verified reassembly, hot-load notifications) for ml-trainer and ml-predictor.
export { RegistryError } from './errors';
export { MODEL_NAME, manifestKey, chunkKey, parseModelKey } from './modelKeys';
export type { ParsedKey } from './modelKeys';
export type { ModelManifest, RegisteredModel } from './ModelManifest';
export { publishModel, DEFAULT_CHUNK_BYTES } from './publishModel';
export type { PublishModelOptions } from './publishModel';
export { ModelRegistryView } from './ModelRegistryView';
export type { ModelRegistryViewOptions, ModelAddedListener, ModelRemovedListener } from './ModelRegistryView';
export { withdrawModelVersions } from './withdrawModelVersions';
export type { WithdrawModelVersionsOptions } from './withdrawModelVersions';
export { withdrawalValue } from './ModelWithdrawal';
export type { ModelWithdrawal } from './ModelWithdrawal';
export { SIGNATURE_HEADER, checkManifestSignature, checkWithdrawalSignature, keyIdOf, parseSigningKey, parseVerifyKeys, signManifest, signWithdrawal } from './modelSignature';
export type { SignatureRejection } from './modelSignature';
