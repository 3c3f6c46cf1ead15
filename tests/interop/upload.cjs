// Uploads one photo to a POST-CSO station with tus-js-client, an independent
// tus 1.0.0 implementation, exactly as a third-party client would.
//
// usage: node upload.cjs <endpoint> <device-token> <file> <report-id> <sha256> [during-creation]
// Prints {"url": "..."} on success; exits 1 with the error otherwise.
'use strict';

const fs = require('node:fs');
const tus = require('tus-js-client');

const [endpoint, token, file, reportId, sha256, mode] = process.argv.slice(2);
if (!sha256) {
  console.error('usage: node upload.cjs <endpoint> <token> <file> <report-id> <sha256> [during-creation]');
  process.exit(2);
}

const data = fs.readFileSync(file);
const upload = new tus.Upload(data, {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { report_id: reportId, sha256 },
  // Several PATCH requests per photo, so resumption across requests is exercised.
  chunkSize: 512 * 1024,
  uploadDataDuringCreation: mode === 'during-creation',
  retryDelays: [0, 250, 1000],
  onError(error) {
    console.error(`tus upload failed: ${error && error.message ? error.message : error}`);
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url }));
  },
});
upload.start();
