import type { Command } from 'commander';
import { readNifti, convertNifti } from '../../io/index.js';
import { axisCodes, volumeStats, type Volume } from '../../volume/index.js';

/** The `info --json` object: keys and meanings fixed (shape, nibabel datatype name, stats after scaling). */
export interface VolumeInfo {
  shape: number[];
  datatype: string;
  spacing: number[];
  affine: number[][];
  min: number;
  max: number;
  mean: number;
}

export function volumeInfo(vol: Volume): VolumeInfo {
  const s = volumeStats(vol);
  return {
    shape: [...vol.shape],
    datatype: vol.datatype,
    spacing: [...vol.spacing],
    affine: vol.affine.map((r) => [...r]),
    min: s.min,
    max: s.max,
    mean: s.mean,
  };
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));

export function registerIo(program: Command): void {
  program
    .command('info')
    .description(
      'shape, datatype, spacing, affine and intensity statistics (after scl_slope/scl_inter) of a NIfTI file',
    )
    .argument('<file>', '.nii, .nii.gz or .hdr/.img')
    .option('--json', 'print one JSON object: shape, datatype, spacing, affine, min, max, mean')
    .action(async (file: string, opts: { json?: boolean }) => {
      const vol = await readNifti(file);
      const info = volumeInfo(vol);
      if (opts.json) {
        console.log(JSON.stringify(info));
        return;
      }
      const h = vol.header;
      console.log(
        [
          `file      ${file}`,
          `format    NIfTI-${h?.niftiVersion ?? '?'} (${h?.littleEndian ? 'little' : 'big'}-endian)`,
          `shape     ${info.shape.join(' x ')}`,
          `datatype  ${info.datatype}`,
          `spacing   ${info.spacing.map(fmt).join(' x ')}`,
          `axes      ${axisCodes(vol).join('')} (sform_code ${h?.sformCode ?? 0}, qform_code ${h?.qformCode ?? 0})`,
          'affine',
          ...info.affine.map((r) => '  ' + r.map((v) => fmt(v).padStart(12)).join(' ')),
          `min       ${fmt(info.min)}`,
          `max       ${fmt(info.max)}`,
          `mean      ${fmt(info.mean)}`,
        ].join('\n'),
      );
    });
  program
    .command('convert')
    .description(
      'rewrite a NIfTI file; the output format comes from OUT (.nii or .nii.gz); never overwrites IN',
    )
    .argument('<in>', 'input .nii, .nii.gz or .hdr/.img')
    .argument('<out>', 'output .nii or .nii.gz')
    .option('--datatype <name>', 'datatype on disk (default: as the input)')
    .action(async (input: string, output: string, opts: { datatype?: Volume['datatype'] }) => {
      const vol = await convertNifti(input, output, { datatype: opts.datatype });
      console.log(`wrote ${output} (${vol.shape.join(' x ')} ${opts.datatype ?? vol.datatype})`);
    });
}
