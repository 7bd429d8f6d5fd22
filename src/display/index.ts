/**
 * Rich output for notebooks (browser-safe core; the kernel transport is installed by
 * kernel/launcher.js): display() with multi-MIME bundles, updating displays and progress bars,
 * HTML tables from rows or danfojs DataFrames, and an extension-free inline volume view.
 */
export {
  setDisplayTransport,
  displayTransport,
  inNotebook,
  consoleTransport,
  isDisplayable,
  isPlotlyFigure,
  escapeHtml,
  newDisplayId,
  type MimeBundle,
  type RichOutput,
  type Displayable,
  type DisplayMessage,
  type DisplayTransport,
} from './core.js';
export {
  display,
  toMimeBundle,
  richMimeBundle,
  figureBundle,
  clearOutput,
  registerMimeProvider,
  registerBundleFinisher,
  finishBundle,
  DisplayHandle,
  SILENT_RESULT,
  ProgressBar,
  progressBar,
  PLOTLY_MIME,
  type MimeProvider,
  type BundleFinisher,
  type DisplayOptions,
  type ProgressOptions,
} from './display.js';
export {
  htmlTable,
  Table,
  isDataFrameLike,
  type Row,
  type Cell,
  type DataFrameLike,
  type TableOptions,
} from './table.js';
export {
  volumeView,
  VolumeView,
  colormap,
  montage,
  type VolumeViewOptions,
  type Colormap,
} from './volume.js';
export { encodePng, base64, crc32, type RawImage } from './png.js';
export { tensorBundle, tensorImage, isTensorLike, type TensorLike } from './tensor.js';
export {
  VOLUME_MIME,
  VIEWER_COMM_TARGET,
  volumeViewer,
  VolumeViewer,
  volumeMimePayload,
  registerVolumeMime,
  bytesToBase64,
  base64ToBytes,
  type VolumeViewerOptions,
  type VolumeMimePayload,
  type VolumeLayerPayload,
  type VoxelEncoding,
  type ViewerClick,
} from './viewer-mime.js';
export { kernelComms, type KernelComms, type KernelComm, type CommMessage } from './comm.js';
