/**
 * A folder that cannot be written, for tests of "read-only output" messages: a read-only tmpfs
 * when this process may mount one (root in a container), else a folder without write permission
 * (an ordinary user: root ignores permissions). Undefined when neither can be made, with why.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A read-only folder and how to remove it. */
export interface ReadOnlyDir {
  /** The folder. */
  dir: string;
  /** The errno writes in it fail with (`EROFS` or `EACCES`). */
  code: "EROFS" | "EACCES";
  /** Unmount / remove it. */
  dispose: () => Promise<void>;
}

/** Make a read-only folder, or say why none can be made here. */
export async function readOnlyDir(): Promise<ReadOnlyDir | { reason: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tunebook-ro-"));
  const remove = () => Deno.removeSync(dir, { recursive: true });
  if (Deno.uid() === 0) {
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir],
      stdout: "null",
      stderr: "piped",
    }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
    if (!mount.success) {
      remove();
      return { reason: `root, and mount failed: ${new TextDecoder().decode(mount.stderr).trim()}` };
    }
    return {
      dir,
      code: "EROFS",
      dispose: async () => {
        await new Deno.Command("umount", { args: [dir] }).output();
        remove();
      },
    };
  }
  chmodSync(dir, 0o555);
  try {
    writeFileSync(join(dir, "probe"), "");
    remove();
    return { reason: "a folder without write permission is still writable here" };
  } catch {
    return {
      dir,
      code: "EACCES",
      dispose: () => {
        chmodSync(dir, 0o755);
        remove();
        return Promise.resolve();
      },
    };
  }
}
