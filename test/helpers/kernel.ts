/** The environment of Jupyter tools that must see only a kernelspec installed into `prefix`. */
import { join, resolve } from 'node:path';

export function jupyterEnv(prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    JUPYTER_PATH: join(prefix, 'share', 'jupyter'),
    // Keep the user's own kernels and runtime out of the way.
    JUPYTER_DATA_DIR: join(prefix, 'data'),
    JUPYTER_RUNTIME_DIR: join(prefix, 'runtime'),
    MRISEQ_ROOT: resolve(__dirname, '..', '..'),
    ...extra,
  };
}
