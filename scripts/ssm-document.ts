// Writes host/aws/NixOS-Deploy.json from host/aws/ssm-document.json and host/aws/ssm-deploy.sh.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderSsmDocument, ssmDeployScript, ssmDocumentTemplate } from '../src/host-scripts/ssm-document.js';

const out = join(import.meta.dirname, '..', 'host/aws/NixOS-Deploy.json');
await writeFile(out, renderSsmDocument(ssmDocumentTemplate(), ssmDeployScript()));
console.log('wrote host/aws/NixOS-Deploy.json');
