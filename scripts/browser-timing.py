#!/usr/bin/env python3
"""Times how long headless Chromium takes to render a page, without its own start-up.

    scripts/browser-timing.py [--runs N] FILE...

Drives Debian's `chromium` over the DevTools protocol on a pipe (--remote-debugging-pipe: no
port opened, nothing beyond the standard library): for each file, RUNS navigations in one
browser, each timed by the page's own clock (Navigation Timing): responseEnd (the file read),
domContentLoadedEventEnd (parsed, inline script run), loadEventEnd, first-contentful-paint,
and "rendered": when the second animation frame after load starts, i.e. the first frame
laid out and painted with everything the load ran; and rendererCPU, the CPU time the
renderer processes used meanwhile (user + system, every thread, clock-tick resolution): on
a busy shared host, where wall times stretch with the load, the CPU time is what an idle
machine's wall time would be, give or take the threads that run in parallel. Prints one line per file with the median
and the worst of each, in milliseconds.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

MEASURE = """
new Promise(resolve => {
  const finish = () => requestAnimationFrame(() => requestAnimationFrame(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    resolve(JSON.stringify({
      responseEnd: nav.responseEnd, domContentLoaded: nav.domContentLoadedEventEnd,
      load: nav.loadEventEnd, firstContentfulPaint: fcp ? fcp.startTime : null,
      rendered: performance.now(), nodes: document.getElementsByTagName('*').length}));
  }));
  if (document.readyState === 'complete') setTimeout(finish, 0);
  else addEventListener('load', () => setTimeout(finish, 0));
})
"""


class Browser:
    def __init__(self, profile):
        self.profile = profile
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The browser reads commands on fd 3 and writes answers on fd 4.
        def child_fds():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)
        self.process = subprocess.Popen(
            ["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(3, 4), preexec_fn=child_fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.session = None

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.next_id

    def read(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def call(self, method, params=None, session=None):
        wanted = self.send(method, params, session)
        while True:
            message = self.read()
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def wait_event(self, name):
        while True:
            message = self.read()
            if message.get("method") == name:
                return message

    def open_page(self):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=self.session)

    def renderer_cpu_ms(self):
        """CPU time (user + system, every thread) of the browser's renderer processes so far."""
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read()
                if b"--type=renderer" not in command or f"--user-data-dir={self.profile}".encode() not in command:
                    continue
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                continue
        return total * 1000 / os.sysconf("SC_CLK_TCK")

    def time(self, url):
        before = self.renderer_cpu_ms()
        self.send("Page.navigate", {"url": url}, self.session)
        self.wait_event("Page.loadEventFired")
        result = self.call("Runtime.evaluate", {"expression": MEASURE, "awaitPromise": True,
                                                  "returnByValue": True}, self.session)
        timing = json.loads(result["result"]["value"])
        timing["rendererCPU"] = self.renderer_cpu_ms() - before
        return timing

    def close(self):
        try:
            self.send("Browser.close")
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("files", nargs="+")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(profile)
        try:
            browser.open_page()
            for name in arguments.files:
                url = pathlib.Path(name).resolve().as_uri()
                browser.time(url)  # warm-up: the first navigation pays for the renderer's start
                runs = [browser.time(url) for _ in range(arguments.runs)]
                keys = ["responseEnd", "domContentLoaded", "load", "firstContentfulPaint", "rendered", "rendererCPU"]
                parts = []
                for key in keys:
                    values = [run[key] for run in runs if run[key] is not None]
                    if values:
                        parts.append(f"{key} {statistics.median(values):.0f} (max {max(values):.0f})")
                size = os.path.getsize(name)
                print(f"{name}: {size} bytes, {runs[0]['nodes']} elements; ms after navigation: " + ", ".join(parts))
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
