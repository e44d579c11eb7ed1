export const PACKAGE_NAME = "@biomed-llama/llama-model";
