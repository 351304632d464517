// Sends an identify and a track with the RudderStack Node SDK in its default settings (gzip
// on, axios's form content type) and exits 0 once the gateway answered 2xx, 1 otherwise.
// Usage: node send_with_node_sdk.cjs <dataPlaneUrl> <writeKey> <userId> <tag>
const Analytics = require("@rudderstack/rudder-sdk-node");

const [dataPlaneUrl, writeKey, userId, tag] = process.argv.slice(2);
const client = new Analytics(writeKey, { dataPlaneUrl, logLevel: "error" });
client.identify({
  userId,
  traits: { email: `${userId}@shop.io`, name: "Noor Haddad" },
  messageId: `node-1-${tag}`,
});
client.track({
  userId,
  event: "Order Completed",
  properties: { order_id: `W-${tag}`, revenue: 59.9 },
  messageId: `node-2-${tag}`,
});
client.flush((err) => {
  if (err) {
    console.error(`rudder-sdk-node: ${err.message}`);
    process.exit(1);
  }
  process.exit(0);
});
