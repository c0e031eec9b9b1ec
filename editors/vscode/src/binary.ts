// Where the `tokenplan` binary is: the `tokenplan.path` setting, then `PATH`, then the binary the
// npm package `tokenplan` installed in a workspace folder's node_modules. Pure apart from the
// file checks it is given, so that node's test runner can check it without the editor.
import * as path from "node:path";

/** What the search looks at. */
export interface Where {
  /** `tokenplan.path`, empty or undefined when not set. */
  setting?: string;
  /** The workspace folders' paths on disk. */
  workspaceFolders: string[];
  /** The `PATH` variable. */
  envPath?: string;
  platform: string;
  arch: string;
  home?: string;
}

export interface Found {
  path: string;
  /** Where it was found, for the log. */
  source: "setting" | "PATH" | "npm";
}

/** The npm platform packages (packaging/npm/tokenplan/lib/platform.js has the same list). */
export const NPM_PLATFORMS = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "win32-x64"];

/** Finds the binary; `isFile` says whether a path is an existing file. */
export function findBinary(where: Where, isFile: (file: string) => boolean): Found | undefined {
  const paths = where.platform === "win32" ? path.win32 : path.posix;
  const exe = where.platform === "win32" ? "tokenplan.exe" : "tokenplan";
  const setting = where.setting?.trim();
  if (setting) {
    // The person chose it: used even when it is not there, so that the error names it.
    let chosen = setting;
    if (where.home && (chosen === "~" || chosen.startsWith("~/"))) {
      chosen = paths.join(where.home, chosen.slice(1));
    }
    if (!paths.isAbsolute(chosen) && where.workspaceFolders.length > 0) {
      chosen = paths.resolve(where.workspaceFolders[0], chosen);
    }
    return { path: chosen, source: "setting" };
  }
  const delimiter = where.platform === "win32" ? ";" : ":";
  for (const dir of (where.envPath ?? "").split(delimiter)) {
    // An empty entry means the current folder, which is the editor's, not the project's.
    if (!dir) continue;
    const candidate = paths.join(dir, exe);
    if (isFile(candidate)) return { path: candidate, source: "PATH" };
  }
  const platform = `${where.platform}-${where.arch}`;
  if (NPM_PLATFORMS.includes(platform)) {
    for (const folder of where.workspaceFolders) {
      const candidate = paths.join(folder, "node_modules", "@tokenplan", platform, "bin", exe);
      if (isFile(candidate)) return { path: candidate, source: "npm" };
    }
  }
  return undefined;
}
