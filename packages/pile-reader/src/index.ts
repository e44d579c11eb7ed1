export const PACKAGE_NAME = "@biomed-llama/pile-reader";
