/**
 * The manifest's JSON schema; data-manifests/manifest.schema.json is the same object (a test keeps
 * them equal), kept here so the browser-safe code needs no file access.
 * @example
 * ```ts
 * import { MANIFEST_SCHEMA } from 'mriseq';
 * console.log(MANIFEST_SCHEMA.required); // ['mriseqManifest', 'sequences', 'subjects']
 * ```
 */
export const MANIFEST_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mriseq.dev/schemas/manifest-1.json',
  title: 'mriseq data manifest (JSON form)',
  description:
    "One entry per subject: its id, the path of each sequence relative to the manifest's folder (null = missing), optional label maps, subject-level labels, split and metadata. The CSV form maps onto this object (see data-manifests/README.md).",
  type: 'object',
  required: ['mriseqManifest', 'sequences', 'subjects'],
  additionalProperties: false,
  properties: {
    mriseqManifest: {
      const: 1,
      description: 'Format version.',
    },
    description: {
      type: 'string',
    },
    sequences: {
      description:
        "Sequence keys in canonical order (their position is the sequence index the generator's target code uses).",
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: {
        $ref: '#/definitions/key',
      },
    },
    masks: {
      type: 'array',
      uniqueItems: true,
      items: {
        $ref: '#/definitions/key',
      },
    },
    labels: {
      type: 'array',
      uniqueItems: true,
      items: {
        $ref: '#/definitions/key',
      },
    },
    subjects: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'sequences'],
        additionalProperties: false,
        properties: {
          id: {
            type: 'string',
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
            maxLength: 200,
          },
          sequences: {
            type: 'object',
            additionalProperties: {
              $ref: '#/definitions/path',
            },
          },
          masks: {
            type: 'object',
            additionalProperties: {
              $ref: '#/definitions/path',
            },
          },
          labels: {
            type: 'object',
            additionalProperties: {
              $ref: '#/definitions/value',
            },
          },
          split: {
            enum: ['train', 'val', 'test', null],
          },
          metadata: {
            type: 'object',
            additionalProperties: {
              $ref: '#/definitions/value',
            },
          },
        },
      },
    },
  },
  definitions: {
    key: {
      type: 'string',
      pattern: '^[A-Za-z][A-Za-z0-9_]*$',
    },
    path: {
      description:
        "Path relative to the manifest's folder with forward slashes (absolute or escaping paths only where the reader allows them), or null when the sequence is missing.",
      type: ['string', 'null'],
      minLength: 1,
    },
    value: {
      type: ['string', 'number', 'boolean', 'null'],
    },
  },
} as const;
