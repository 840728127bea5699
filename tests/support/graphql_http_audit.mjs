// The graphql-http package's server audit (the GraphQL-over-HTTP spec's
// own) against the URL given; prints every result as one JSON line.
import { auditServer } from "graphql-http";

const results = await auditServer({ url: process.argv[2] });
for (const result of results) {
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status, reason: result.reason ?? null }));
}
