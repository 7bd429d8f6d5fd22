/**
 * mriseq's JupyterLite kernel: "mriseq (TypeScript)" runs TypeScript cells in a web worker of the
 * student's browser, with the desktop kernel's cell semantics and Jupyter's full display protocol
 * (several outputs per cell, update_display_data, streams, errors with cell lines).
 *
 * The kernelspec is named `mriseq`, like the desktop kernel's, so a notebook written for one opens
 * on the other with no kernel dialog.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IKernelClient, IKernelSpecs, type IKernel } from '@jupyterlite/services';
import { MriseqLiteKernel } from './kernel';

const LOGO =
  'data:image/svg+xml;base64,' +
  btoa(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="10" fill="#3178c6"/>' +
      '<text x="32" y="42" font-family="sans-serif" font-size="22" font-weight="bold" fill="#fff" text-anchor="middle">MRI</text></svg>',
  );

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'mriseq-lite-kernel:kernel',
  description: 'The mriseq TypeScript kernel, running in a web worker.',
  autoStart: true,
  requires: [IKernelSpecs, IKernelClient],
  activate: (_app: JupyterFrontEnd, kernelspecs: IKernelSpecs, kernelClient: IKernelClient) => {
    const kernels = new Map<string, MriseqLiteKernel>();
    kernelspecs.register({
      spec: {
        name: 'mriseq',
        display_name: 'mriseq (TypeScript)',
        language: 'typescript',
        argv: [],
        resources: { 'logo-32x32': LOGO, 'logo-64x64': LOGO },
      },
      create: async (options: IKernel.IOptions): Promise<IKernel> => {
        const k = new MriseqLiteKernel(options);
        kernels.set(k.id, k);
        k.disposed.connect(() => kernels.delete(k.id));
        return k;
      },
    });
    // JupyterLite's kernel client answers the stop button by cancelling the queued cells only; it
    // does not tell the kernel (jupyterlite 0.8: LiteKernelClient.interrupt). Wrap it so that the
    // running cell hears it too: our worker stops it at its next await or training step.
    const original = kernelClient.interrupt.bind(kernelClient);
    kernelClient.interrupt = async (id: string) => {
      kernels.get(id)?.interrupt();
      return original(id);
    };
  },
};

export default [plugin];
