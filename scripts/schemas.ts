// npm run schemas: write schemas/role.schema.json and schemas/checks.schema.json from the kind registries.
import { writeSchemas } from '../src/schema-gen.js';

for (const f of writeSchemas()) console.log(`wrote ${f}`);
