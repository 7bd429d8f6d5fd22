/**
 * The live half of the mriseq viewer: in every notebook, the viewer's renderer gets the notebook's
 * kernel, so a viewer made by the mriseq kernel opens a comm to it (updates in place from the
 * kernel, clicks to the kernel's onClick callbacks). The MIME extension (index.ts) stays the
 * renderer everywhere else (output views, exported notebooks), where the viewer is static.
 *
 * Typed by hand against the few members used (docRegistry.addWidgetExtension, the panel's
 * rendermime, the context's sessionContext), so the extension needs no JupyterLab packages
 * beyond the MIME interfaces: JupyterLab provides them at run time.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { VOLUME_MIME, VolumeViewerWidget, type KernelLike } from './index';

interface RenderMimeLike {
  addFactory(factory: IRenderMime.IRendererFactory, rank?: number): void;
}

interface NotebookPanelLike {
  content: { rendermime: RenderMimeLike };
}

interface ContextLike {
  sessionContext: { session?: { kernel?: KernelLike | null } | null };
}

interface AppLike {
  docRegistry: {
    addWidgetExtension(
      widgetName: string,
      extension: { createNew(panel: NotebookPanelLike, context: ContextLike): void },
    ): unknown;
  };
}

const plugin = {
  id: 'mriseq-jupyterlab:live-viewer',
  description: 'Connects mriseq volume viewers in notebooks to their kernel through Jupyter comms.',
  autoStart: true,
  activate: (app: AppLike): void => {
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew(panel, context) {
        panel.content.rendermime.addFactory(
          {
            safe: true,
            mimeTypes: [VOLUME_MIME],
            defaultRank: 0,
            createRenderer: (options) =>
              new VolumeViewerWidget(options, () => context.sessionContext.session?.kernel ?? null),
          },
          0,
        );
      },
    });
  },
};

export default plugin;
