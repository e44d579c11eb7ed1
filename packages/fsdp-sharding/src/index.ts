export const PACKAGE_NAME = "@biomed-llama/fsdp-sharding";
