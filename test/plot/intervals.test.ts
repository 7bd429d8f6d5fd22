import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intervalFigure } from '../../src/plot/index.js';

test('intervalFigure: one trace per group, asymmetric error bars from the bounds, labelled reference lines', () => {
  const fig = intervalFigure(
    [
      { label: 'MRI', value: 0.7, lo: 0.55, hi: 0.8, group: 'AUC' },
      { label: 'MRI + M_d', value: 0.9, lo: 0.8, hi: 0.97, group: 'AUC', note: 'p = 0.01' },
      { label: 'top-2', value: -0.02, lo: -0.06, group: 'difference' }, // one-sided: lower bound only
    ],
    {
      title: 't',
      xTitle: 'x',
      refs: [
        { x: 0.5, label: 'chance' },
        { x: -0.05, label: '-margin' },
      ],
      range: [-0.2, 1],
    },
  );
  assert.equal(fig.data.length, 2);
  const [auc, diff] = fig.data as unknown as {
    name: string;
    x: number[];
    y: string[];
    error_x: { array: number[]; arrayminus: number[] };
    text: string[];
  }[];
  assert.deepEqual([auc.name, diff.name], ['AUC', 'difference']);
  assert.deepEqual(auc.y, ['MRI', 'MRI + M_d']);
  assert.deepEqual(auc.x, [0.7, 0.9]);
  // the bars reach exactly the bounds: value + array = hi, value - arrayminus = lo
  auc.error_x.array.forEach((a, i) => assert.ok(Math.abs(auc.x[i] + a - [0.8, 0.97][i]) < 1e-12));
  auc.error_x.arrayminus.forEach((a, i) => assert.ok(Math.abs(auc.x[i] - a - [0.55, 0.8][i]) < 1e-12));
  assert.deepEqual(diff.error_x.array, [0]);
  assert.ok(Math.abs(diff.error_x.arrayminus[0] - 0.04) < 1e-12);
  assert.match(auc.text[1], /0\.900 \[0\.800, 0\.970\]<br>p = 0\.01/);
  assert.match(diff.text[0], /\[-0\.060, -\]/);
  const layout = fig.layout as {
    shapes: { x0: number }[];
    annotations: { text: string }[];
    xaxis: { range: number[] };
    yaxis: { categoryarray: string[] };
  };
  assert.deepEqual(
    layout.shapes.map((s) => s.x0),
    [0.5, -0.05],
  );
  assert.deepEqual(
    layout.annotations.map((a) => a.text),
    ['chance', '-margin'],
  );
  assert.deepEqual(layout.xaxis.range, [-0.2, 1]);
  // plotly draws categories bottom-up: reversed, the first row is on top
  assert.deepEqual(layout.yaxis.categoryarray, ['top-2', 'MRI + M_d', 'MRI']);
});

test('intervalFigure: a non-finite estimate becomes a gap, not NaN in the spec', () => {
  const fig = intervalFigure([{ label: 'a', value: NaN, lo: 0.1, hi: 0.2 }]);
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig);
  assert.equal((fig.data[0] as unknown as { x: (number | null)[] }).x[0], null);
});
