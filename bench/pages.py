"""Benchmark of the dashboards and list pages under concurrent users, against a trivial page.

    python bench/pages.py [--clients 300000] [--months 24] [--users 20] [--requests 10] [--reuse]
                          [--database-url postgres://postgres@127.0.0.1:5432/rmportal_pages_bench]

Drops and re-creates the bench database (its name must contain "bench"), migrates it and seeds
the demo bank at scale (``seed_demo``: 100 clients per RM, so 300,000 clients give 3,000 RMs in
six branches), then serves the portal with gunicorn (production settings, several worker
processes) on 127.0.0.1 and, for each page in turn, lets ``--users`` logged-in users request it
``--requests`` times each, every user sending the next request as soon as the last one answered
(plus ``--think`` seconds). Every user logs in through the login form and keeps their own cookies,
as the role that reads the page (the branch manager or HR of the demo log-ins). The users are
threads of this script speaking HTTP with the standard library, so it needs nothing besides the
portal's requirements (gunicorn among them).

Prints per page the median latency of one user alone (what the page costs), then, with all users
at once, the requests, the median and 95th percentile latency in milliseconds, the 95th
percentile against the baseline's and the HTTP status counts. The baseline is the portal's home
page measured the same way: a redirect that only reads the log-in record and the user. A bare SQL
round trip (``SELECT 1``, one connection per user) is printed for reference. A page whose URL does
not resolve yet prints "missing". Never run as a test.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import http.cookiejar
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from contribution import recreate_database, setup_django  # noqa: E402

BRANCH_MANAGER, HR = "branch_manager", "hr"
TARGET_P95_MS = 300
ALONE_REQUESTS = 5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rmportal_pages_bench")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the bench database of an earlier run; seed only when it holds no data")
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default %(default)s)")
    parser.add_argument("--requests", type=int, default=10,
                        help="measured requests per user and page, after one warm-up request (default %(default)s)")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds after which a page's users stop starting new requests, so that a very slow "
                             "page ends with fewer requests (default %(default)s)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a user reads a page before the next request, drawn from "
                             "0.5–1.5 × this (default %(default)s: none)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1,
                        help="gunicorn worker processes (default 2 × CPUs + 1 = %(default)s)")
    parser.add_argument("--password", default="demo-pass-2026", help="password of the demo log-ins")
    parser.add_argument("--pages", default="", help="comma-separated page names to run (default: all)")
    return parser.parse_args()


# --- the pages ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    name: str
    role: str
    url_name: str
    kwargs: dict = field(default_factory=dict)


def pages_to_measure(org: dict) -> list[Page]:
    """The branch manager reads their branch; HR reads the bank-wide lists."""
    branch, rm = {"code": org["branch"]}, {"employee_no": org["rm"]}
    return [
        Page("branch home (dashboard)", BRANCH_MANAGER, "clients:branch-home", branch),
        Page("attrition (dashboard)", HR, "careers:attrition"),
        Page("branch list", BRANCH_MANAGER, "clients:branch-list"),
        Page("branch detail", BRANCH_MANAGER, "clients:branch-detail", branch),
        Page("RM book", BRANCH_MANAGER, "clients:rm-book", rm),
        Page("appraisal list", BRANCH_MANAGER, "performance:appraisal-list"),
        Page("queue", HR, "performance:queue"),
        Page("calibration", HR, "performance:calibration"),
        Page("pool detail", BRANCH_MANAGER, "performance:pool-detail", branch),
        Page("risk scores", BRANCH_MANAGER, "risk:scores"),
        Page("risk alerts", BRANCH_MANAGER, "risk:alerts"),
        Page("interview list", HR, "careers:interview-list"),
        Page("eligibility", HR, "careers:eligibility"),
        Page("exits", HR, "careers:exit-list"),
    ]


def resolve(page: Page) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(page.url_name, kwargs=page.kwargs or None)
    except NoReverseMatch:
        return None


def demo_organisation() -> dict:
    """The demo log-ins (clients/demo.py): the first branch's manager and first RM, the first HR
    officer, each the lowest employee number of its kind."""
    from clients.models import Branch, Employee, Role

    branch = Branch.objects.order_by("code").first()
    first = Employee.objects.order_by("employee_no").values_list("employee_no", flat=True)
    return {"branch": branch.code,
            "users": {BRANCH_MANAGER: first.filter(branch=branch, role=Role.BRANCH_MANAGER)[0],
                      HR: first.filter(role=Role.HR)[0]},
            "rm": first.filter(branch=branch, role=Role.RM)[0]}


# --- the bank -------------------------------------------------------------------------------

def manage(*arguments: str, env: dict) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *arguments], env=env, check=True)


def prepare_database(args) -> None:
    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "rmportal.settings.base",
           "DJANGO_DEBUG": "0"}
    if not args.reuse:
        recreate_database(args.database_url)
    manage("migrate", "--verbosity", "0", env=env)
    from clients.models import Branch

    if args.reuse and Branch.objects.exists():
        print("reusing the seeded bank", flush=True)
        return
    print(f"seeding {args.clients:,} clients, {args.months} months …", flush=True)
    started = time.perf_counter()
    manage("seed_demo", "--clients", str(args.clients), "--months", str(args.months), env=env)
    # What autovacuum would have done on a bank that has been running for a while.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


def bank_size() -> str:
    from clients.models import Client, Employee, MonthlyBusiness, Role

    months = MonthlyBusiness.objects.values("month").distinct().count()
    return (f"clients: {Client.objects.count():,}   RMs: {Employee.objects.filter(role=Role.RM).count():,}   "
            f"months: {months}")


# --- the server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(args) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "rmportal.settings.production",
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
           # plain HTTP on the loopback: no secure cookies, no redirect to HTTPS, no HSTS
           "DJANGO_SECURE_COOKIES": "0", "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_SECURE_HSTS_SECONDS": "0",
           "LOG_LEVEL": "WARNING"}
    # Production serves the collected, hashed static files.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                   cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "rmportal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if server.poll() is not None:
            sys.exit("gunicorn did not start")
        try:
            urllib.request.urlopen(base + "/accounts/login/", timeout=5).read()
            return server, base
        except OSError:  # not listening yet
            time.sleep(0.2)
    server.terminate()
    sys.exit("gunicorn did not answer")


# --- the users ------------------------------------------------------------------------------

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOGIN_URL = "/accounts/login/"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is the page's answer (e.g. the home page's): timed as it is, not followed."""

    def redirect_request(self, *args, **kwargs):
        return None


class User:
    """One browser: its own cookies, one request at a time."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect)

    def get(self, url: str, data: dict | None = None) -> tuple[int, bytes, str]:
        """Status, body (read to the end) and Location of the answer."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + url, data=body, timeout=300) as answer:
                return answer.status, answer.read(), answer.headers.get("Location", "")
        except urllib.error.HTTPError as answer:  # 3xx (not followed), 4xx and 5xx
            return answer.code, answer.read(), answer.headers.get("Location", "")


def log_in(base: str, username: str, password: str) -> User:
    user = User(base)
    _status, form, _location = user.get(LOGIN_URL)
    token = CSRF_FIELD.search(form.decode()).group(1)
    user.get(LOGIN_URL, {"username": username, "password": password, "csrfmiddlewaretoken": token})
    status, _body, location = user.get("/")
    if status != 302 or location.startswith(LOGIN_URL):
        sys.exit(f"log-in of {username} failed")
    return user


@dataclass
class Result:
    latencies_ms: list[float]
    statuses: collections.Counter

    def percentile(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]


def measure(call, users: int, requests_each: int, think: float, budget: float) -> Result:
    """``users`` threads, each calling ``call(user)`` once to warm up, then ``requests_each`` times
    timed; all start the timed part together and start no new request after ``budget`` seconds."""
    latencies, statuses, lock = [], collections.Counter(), threading.Lock()
    ready = threading.Barrier(users)
    deadline = []

    def user(index: int) -> None:
        call(index)
        if ready.wait() == 0:
            deadline.append(time.perf_counter() + budget)
        ready.wait()
        for _ in range(requests_each):
            if time.perf_counter() > deadline[0]:
                break
            started = time.perf_counter()
            status = call(index)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1
            if think:  # spread around the mean, so that the users drift apart after the first round
                time.sleep(random.uniform(0.5, 1.5) * think)

    with concurrent.futures.ThreadPoolExecutor(users) as pool:
        for future in [pool.submit(user, i) for i in range(users)]:
            future.result()
    return Result(latencies, statuses)


def measure_page(users: list[User], url: str, args) -> tuple[Result, Result]:
    """The page requested by one user alone (``ALONE_REQUESTS`` in a row: what the page costs),
    then by all users at once (what they wait)."""
    def call(index: int) -> int:
        return users[index].get(url)[0]

    alone = measure(call, 1, ALONE_REQUESTS, 0, args.budget)
    return alone, measure(call, args.users, args.requests, args.think, args.budget)


def measure_bare_sql(args) -> tuple[Result, Result]:
    import psycopg2
    import dj_database_url

    settings = dj_database_url.parse(args.database_url)
    connections = [psycopg2.connect(dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"],
                                    host=settings["HOST"], port=settings["PORT"] or 5432) for _ in range(args.users)]

    def call(index: int) -> str:
        with connections[index].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        return "ok"

    try:
        return (measure(call, 1, ALONE_REQUESTS, 0, args.budget),
                measure(call, args.users, args.requests, args.think, args.budget))
    finally:
        for connection in connections:
            connection.close()


# --- report ---------------------------------------------------------------------------------

HEADER = (f"{'page':<28} {'alone ms':>8} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'ratio p95':>9}  status")


def format_row(name: str, url: str | None, results: tuple[Result, Result] | None, baseline: Result) -> str:
    """``alone ms``: the median of one user alone; the rest: all users at once."""
    if results is None:
        return f"{name:<28} {'missing':>8}"
    alone, result = results
    p95 = result.percentile(95)
    statuses = " ".join(f"{status}×{count}" for status, count in sorted(result.statuses.items(), key=str))
    flag = "  > goal" if url != "SELECT 1" and p95 > TARGET_P95_MS else ""
    return (f"{name:<28} {alone.percentile(50):>8.1f} {len(result.latencies_ms):>8} {result.percentile(50):>8.1f} "
            f"{p95:>8.1f} {p95 / baseline.percentile(95):>9.1f}  {statuses}{flag}")


def main() -> None:
    args = parse_args()
    # A stopped run still stops its server (``finally`` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    setup_django(args.database_url)
    prepare_database(args)
    org = demo_organisation()
    size = bank_size()
    wanted = {name.strip() for name in args.pages.split(",") if name.strip()}
    pages = [p for p in pages_to_measure(org) if not wanted or p.name in wanted]

    server, base = start_server(args)
    try:
        print(f"logging in {args.users} users per role …", flush=True)
        with concurrent.futures.ThreadPoolExecutor(args.users) as pool:
            users = {role: list(pool.map(lambda _: log_in(base, username, args.password), range(args.users)))
                        for role, username in org["users"].items()}
        home = measure_page(users[BRANCH_MANAGER], "/", args)
        baseline = home[1]
        rows = [("baseline: home (redirect)", "/", home),
                ("bare SQL round trip", "SELECT 1", measure_bare_sql(args))]
        print(HEADER, flush=True)
        for row in rows:
            print(format_row(*row, baseline), flush=True)
        for page in pages:
            url = resolve(page)
            rows.append((page.name, url, measure_page(users[page.role], url, args) if url else None))
            print(format_row(*rows[-1], baseline), f"  {url or ''}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=90)

    cpus = os.cpu_count()
    print()
    print(f"{size}   users: {args.users}   requests per user and page: {args.requests}   "
          f"think: {args.think:g} s")
    print(f"gunicorn workers: {args.workers}   CPUs: {cpus} (server, database and these users share them)   "
          f"goal: p95 ≤ {TARGET_P95_MS} ms")
    print(HEADER)
    for row in rows:
        print(format_row(*row, baseline))


if __name__ == "__main__":
    main()
