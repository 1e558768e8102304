// The watch link's page (dashboard/watch.py): the board's own component in watch mode, no controls, no
// Streamlit. The token is in this page's address; frames come from <address>/now and <address>/frame/<n>.
import mount from "./live.js";

const params = new URLSearchParams(location.search);
mount({
  data: { watch: true, url: location.pathname.replace(/\/+$/, ""), refresh: 0.2, present: params.get("present") === "1",
          scene: null, frame: null },
  parentElement: document.getElementById("minimax-watch"),
  setTriggerValue: () => {},
});
