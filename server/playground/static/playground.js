// Starts GraphiQL on the playground page (server/playground/): queries and
// mutations over HTTP, subscriptions over graphql-transport-ws on the same
// path. The headers typed into the Headers tab go with both (GraphiQL sends
// them as the WebSocket's connection parameters, which Taskloom reads).
"use strict";

(function () {
  const root = document.getElementById("graphiql");
  const url = new URL("/graphql", window.location.href);
  const subscriptionUrl = new URL(url);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = GraphiQL.createFetcher({
    url: url.toString(),
    subscriptionUrl: subscriptionUrl.toString(),
  });
  // A token saved in the dashboard (same origin) is offered as the header.
  const token = window.localStorage.getItem("taskloom.token");
  const defaultHeaders = token
    ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2)
    : undefined;
  root.textContent = "";
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: root.dataset.exampleQuery,
      defaultHeaders: defaultHeaders,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    }),
  );
})();
