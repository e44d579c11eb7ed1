// Where a worker imports the MPI addon from: the package name once fsdp-sharding lists it as an optional
// dependency (pnpm links it into node_modules), else the sibling workspace package's built dist.
// (Not createRequire().resolve: vitest's NODE_PATH makes CJS resolution succeed where ESM import fails.)
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { MPI_ADDON_PACKAGE } from "../../src/transports/transport-mpi.js";

export function mpiAddonSpecifier(): string {
  const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  if (existsSync(join(pkgDir, "node_modules", MPI_ADDON_PACKAGE, "package.json"))) return MPI_ADDON_PACKAGE;
  return pathToFileURL(join(pkgDir, "..", "mpi-addon", "dist", "index.js")).href;
}
