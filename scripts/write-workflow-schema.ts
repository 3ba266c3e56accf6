// Regenerates schemas/workflow.schema.json from the zod schema (a test checks the committed file is current).
import { writeFileSync } from 'node:fs';
import { workflowJsonSchema } from '../src/workflow/workflow-schema.js';

writeFileSync(
  new URL('../schemas/workflow.schema.json', import.meta.url),
  JSON.stringify(workflowJsonSchema(), null, 2) + '\n',
);
