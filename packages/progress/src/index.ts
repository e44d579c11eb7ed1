export { createProgress, type Progress, type ProgressOptions, type ProgressStats } from "./progress.js";
