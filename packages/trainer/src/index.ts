export const PACKAGE_NAME = "@biomed-llama/trainer";
