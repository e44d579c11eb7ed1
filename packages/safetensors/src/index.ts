export { decodeToFloat32, float32ToBf16Bits } from "./convert.js";
export {
  DTYPE_BYTES,
  encodeSafetensorsHeader,
  MAX_HEADER_BYTES,
  parseSafetensorsHeader,
  type SafetensorsDtype,
  SafetensorsError,
  type SafetensorsTensorInfo,
  type WritableDtype,
} from "./header.js";
export {
  INDEX_FILE,
  SafetensorsCheckpoint,
  type ShardOptions,
  SINGLE_FILE,
  writeSafetensorsCheckpoint,
} from "./hf-index.js";
export {
  openSafetensors,
  READ_CHUNK_BYTES,
  readSafetensors,
  SafetensorsFile,
  type TensorData,
} from "./reader.js";
export {
  type TensorSource,
  type WriteSafetensorsOptions,
  writeSafetensors,
  writeSafetensorsFrom,
} from "./writer.js";
