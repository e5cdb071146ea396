#!/bin/sh
# One-shot: create the least-privilege roles and users of ContactPoint with the security API,
# authenticated as the built-in elastic superuser. Safe to run again (PUT is idempotent).
set -eu
ES="${ELASTICSEARCH_URL:-http://elasticsearch:9200}"
AUTH="elastic:${ELASTIC_PASSWORD}"
until curl -fsS -u "$AUTH" "$ES/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null; do
  sleep 2
done
curl -fsS -u "$AUTH" -X PUT "$ES/_security/role/contactpoint_search" -H 'Content-Type: application/json' \
  -d '{"indices":[{"names":["children"],"privileges":["read"]}]}'
curl -fsS -u "$AUTH" -X PUT "$ES/_security/role/contactpoint_indexer" -H 'Content-Type: application/json' \
  -d '{"cluster":["monitor"],"indices":[{"names":["children","children-*"],"privileges":["create_index","delete_index","manage","read","write","view_index_metadata"]}]}'
curl -fsS -u "$AUTH" -X PUT "$ES/_security/user/contactpoint_api" -H 'Content-Type: application/json' \
  -d "{\"password\":\"${ES_API_PASSWORD}\",\"roles\":[\"contactpoint_search\"]}"
curl -fsS -u "$AUTH" -X PUT "$ES/_security/user/contactpoint_indexer" -H 'Content-Type: application/json' \
  -d "{\"password\":\"${ES_INDEXER_PASSWORD}\",\"roles\":[\"contactpoint_indexer\"]}"
echo "elasticsearch users ready"
