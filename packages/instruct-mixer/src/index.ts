export const PACKAGE_NAME = "@biomed-llama/instruct-mixer";
