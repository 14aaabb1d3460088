// An independent verifier for WMI Certify credentials, built on Digital Bazaar's reference
// libraries. Usage: node verify.mjs input.json  (prints one JSON result per credential)
//
// input.json: {"now": "<ISO date, optional>", "documents": {"<url or DID>": {...}},
//              "credentials": [{"name": "...", "credential": {...}}]}
// The document loader is offline: JSON-LD contexts come from the files the application
// ships (app/credentials/contexts), DID documents and status lists from "documents".
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', 'app', 'credentials', 'contexts');
const contextIndex = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));
const MULTIKEY_V1 = 'https://w3id.org/security/multikey/v1';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const documents = input.documents || {};

function loaded(url, document) {
  return {contextUrl: null, documentUrl: url, document: structuredClone(document)};
}

async function documentLoader(url) {
  if(contextIndex[url]) {
    return loaded(url, JSON.parse(readFileSync(join(contextsDir, contextIndex[url]), 'utf8')));
  }
  const [base, fragment] = url.split('#');
  if(url.startsWith('did:') && fragment !== undefined) {
    const didDocument = documents[base];
    const method = didDocument && (didDocument.verificationMethod || []).find(m => m.id === url);
    if(!method) {
      throw new Error(`Unknown verification method ${url}`);
    }
    return loaded(url, {'@context': MULTIKEY_V1, ...method});
  }
  if(documents[url]) {
    return loaded(url, documents[url]);
  }
  throw new Error(`Offline document loader: ${url} is not available`);
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

function messages(error) {
  if(!error) {
    return [];
  }
  const errors = Array.isArray(error) ? error : (error.errors || [error]);
  return errors.map(e => String(e && e.message || e));
}

const results = [];
for(const {name, credential} of input.credentials) {
  let result;
  try {
    result = await vc.verifyCredential({
      credential, suite, documentLoader, checkStatus,
      ...(input.now ? {now: input.now} : {})
    });
  } catch(e) {
    result = {verified: false, error: e};
  }
  const statuses = result.statusResult?.results || [];
  const errors = messages(result.error);
  for(const r of result.results || []) {
    errors.push(...messages(r.error));
  }
  results.push({
    name,
    verified: result.verified === true,
    revoked: statuses.some(s => s.status === true),
    statusChecked: statuses.length > 0,
    expired: errors.some(m => /after "validUntil"|after .*expirationDate|expired/i.test(m)),
    errors
  });
}
process.stdout.write(JSON.stringify(results) + '\n');
