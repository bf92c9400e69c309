"""Benchmark of the monthly import and the contribution engine against bare PostgreSQL.

    python bench/contribution.py [--clients 300000]
                                 [--database-url postgres://postgres@127.0.0.1:5432/rmportal_bench]

Drops and re-creates the bench database (its name must contain "bench"), migrates it, creates
branches, RMs and clients with COPY, writes a monthly CSV (DOMAIN 2.1) of one row per client and
times:

  (a) bare COPY of the CSV into a plain table of the same columns;
  (b) the portal's monthly import of the same file, against (a);
  (c) one bare INSERT … SELECT valuing every client-month (DOMAIN 2.2) from the plain table;
  (d) contribution_recompute of the month for all branches, against (c); once into an empty
      table and once more over the stored rows.

(c) and (d) run ``--repeat`` times (default 3) and the fastest run counts. Prints wall and CPU
seconds (this process and its database backend) against the baseline's, their ratios and the peak
RSS of this process after each step, then checks that (c) and (d) stored the same figures.
The import also values the month, so (b) includes one contribution run. Never run as a test.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
import traceback
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONTH = dt.date(2026, 1, 1)
BRANCHES = 8
RMS_PER_BRANCH = 10
MONTHLY_COLUMNS = [
    "client_no", "month",
    "deposit_avg_balance", "deposit_interest_expense", "deposit_accounts",
    "loan_avg_balance", "loan_interest_income", "loan_accounts", "loan_term", "loan_npl_balance",
    "wm_income", "wm_expense", "wm_tx_count", "wm_sales",
    "card_count", "card_deposit_income", "card_overdraft_income", "card_fee_income",
    "card_annual_fee_income", "card_rebate_income",
    "insurance_sales", "fund_sales", "bond_sales",
]
COUNT_COLUMNS = {"deposit_accounts", "loan_accounts", "wm_tx_count", "card_count"}
LOAN_TERMS = ["le6m", "6m_1y", "1y_3y", "3y_5y", "gt5y"]
BANK_PARAMETERS = {
    "tax_rate": "0.0560", "ftp_deposit": "0.0200",
    "ftp_loan_le6m": "0.0250", "ftp_loan_6m_1y": "0.0270", "ftp_loan_1y_3y": "0.0290",
    "ftp_loan_3y_5y": "0.0320", "ftp_loan_gt5y": "0.0350",
    "cost_loan": "1800000", "cost_deposit": "900000", "cost_wm": "350000", "cost_card": "420000",
    "capital_ratio": "0.105", "cost_of_capital": "0.10",
}
BRANCH_OVERRIDE = {"tax_rate": "0.0600", "cost_loan": "2400000", "ftp_deposit": "0.0210"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rmportal_bench")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of (c) and (d); the fastest counts (the import runs once)")
    return parser.parse_args()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def recreate_database(url: str) -> None:
    import dj_database_url
    import psycopg2

    settings = dj_database_url.parse(url)
    name = settings["NAME"]
    if "bench" not in name:
        sys.exit(f"refusing to drop database {name!r}: a bench database's name contains 'bench'")
    admin = psycopg2.connect(dbname="postgres", user=settings["USER"], password=settings["PASSWORD"],
                             host=settings["HOST"], port=settings["PORT"] or 5432)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "rmportal.settings.base"
    os.environ["DJANGO_DEBUG"] = "0"  # DEBUG keeps every query in memory
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


class Stopwatch:
    """Wall seconds and CPU seconds of a step. CPU counts this process and its database backend
    (read from /proc when the server runs on this machine), so a busy machine changes the wall
    time much more than the CPU time."""

    def __init__(self):
        self.wall = self.cpu = None

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), self._cpu_now()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        cpu = self._cpu_now()
        self.cpu = cpu - self._cpu if cpu is not None and self._cpu is not None else None
        return False

    @staticmethod
    def _cpu_now() -> float | None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        try:
            with open(f"/proc/{backend_pid()}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # a remote server: no backend figure
            return None
        return usage.ru_utime + usage.ru_stime + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pid() -> int:
    from django.db import connection

    connection.ensure_connection()
    return connection.connection.info.backend_pid


def raw_cursor():
    from django.db import connection

    connection.ensure_connection()
    return connection.connection.cursor()


# --- data ----------------------------------------------------------------------------------

def create_organisation() -> list[int]:
    from clients.models import Branch, ContributionParameter, Employee, Region

    regions = Region.objects.bulk_create([Region(code=f"R{n}", name=f"Region {n}") for n in (1, 2)])
    branches = Branch.objects.bulk_create(
        [Branch(code=f"B{n:02d}", name=f"Branch {n}", region=regions[n % 2]) for n in range(1, BRANCHES + 1)])
    Employee.objects.bulk_create(
        [Employee(employee_no=f"E{b.pk:02d}{n:03d}", name=f"RM {b.pk}-{n}", branch=b, role="rm")
         for b in branches for n in range(RMS_PER_BRANCH)])
    ContributionParameter.objects.bulk_create(
        [ContributionParameter(branch=None, month=MONTH, key=k, value=Decimal(v)) for k, v in BANK_PARAMETERS.items()]
        + [ContributionParameter(branch=branches[0], month=MONTH, key=k, value=Decimal(v))
           for k, v in BRANCH_OVERRIDE.items()])
    return [b.pk for b in branches]


def copy_clients(count: int, branch_ids: list[int], workdir: Path) -> None:
    path = workdir / "clients.tsv"
    with path.open("w") as out:
        for n in range(count):
            segment = "private" if n % 97 == 0 else "affluent" if n % 9 == 0 else "mass"
            kind = "corporate" if n % 13 == 0 else "individual"
            out.write(f"C{n:09d}\tClient {n}\t{kind}\t{segment}\t{branch_ids[n % len(branch_ids)]}"
                      f"\tactive\t2020-01-01\t\\N\t\n")
    cursor = raw_cursor()
    with path.open() as source:
        cursor.copy_expert(
            "COPY clients_client (client_no, name, client_type, segment, branch_id, status, opened_on, "
            "lost_on, lost_reason) FROM STDIN", source)
    cursor.execute(f"""
        INSERT INTO clients_assignment (client_id, rm_id, started_on, ended_on, reason, note)
        SELECT c.id, e.id, c.opened_on, NULL, 'onboarding', ''
        FROM clients_client c
        JOIN (SELECT id, branch_id, row_number() OVER (PARTITION BY branch_id ORDER BY id) - 1 AS slot
              FROM clients_employee) e ON e.branch_id = c.branch_id AND e.slot = c.id % {RMS_PER_BRANCH}""")
    cursor.connection.commit()


def money(value: float) -> str:
    return f"{value:.2f}"


def write_monthly_csv(count: int, path: Path, seed: int) -> None:
    """One row per client: deposits for all, loans for a fifth, WM for a third, cards for most."""
    rng = random.Random(seed)
    lognormal, uniform, rand, randint = rng.lognormvariate, rng.uniform, rng.random, rng.randint
    month = MONTH.strftime("%Y-%m")
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(MONTHLY_COLUMNS)
        for n in range(count):
            deposit = lognormal(10.5, 1.4)
            loan = lognormal(12.8, 1.0) if rand() < 0.2 else 0.0
            wm_sales = lognormal(11.5, 1.0) if rand() < 0.3 else 0.0
            wm_income = wm_sales * uniform(0.002, 0.006)
            cards = randint(0, 3)
            writer.writerow([
                f"C{n:09d}", month,
                money(deposit), money(deposit * uniform(0.0002, 0.0015)), randint(1, 4),
                money(loan), money(loan * uniform(0.003, 0.005)), randint(1, 2) if loan else 0,
                rng.choice(LOAN_TERMS) if loan else "", money(loan if loan and rand() < 0.02 else 0),
                money(wm_income), money(wm_income * uniform(0.1, 0.4)), randint(1, 6) if wm_sales else 0,
                money(wm_sales),
                cards, money(cards * uniform(0, 8)), money(cards * uniform(0, 40) if rand() < 0.2 else 0),
                money(cards * uniform(0, 15)), money(cards * 10 if rand() < 0.3 else 0),
                money(cards * uniform(0, 5)),
                money(lognormal(9.5, 1.0) if rand() < 0.05 else 0),
                money(lognormal(10.5, 1.0) if rand() < 0.08 else 0),
                money(lognormal(11, 1.0) if rand() < 0.04 else 0),
            ])


# --- timed steps ---------------------------------------------------------------------------

def bare_copy(path: Path) -> Stopwatch:
    cursor = raw_cursor()
    columns = ",\n".join(
        f"{name} {'varchar(40)' if name == 'client_no' else 'char(7)' if name == 'month' else 'varchar(6)' if name == 'loan_term' else 'integer' if name in COUNT_COLUMNS else 'numeric(18,2)'}"
        for name in MONTHLY_COLUMNS)
    cursor.execute(f"CREATE TABLE bench_monthly ({columns})")
    cursor.connection.commit()
    with Stopwatch() as watch, path.open() as source:
        cursor.copy_expert(f"COPY bench_monthly ({', '.join(MONTHLY_COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER)",
                           source)
    return watch


def portal_import(path: Path) -> tuple[Stopwatch | None, str]:
    try:
        from rmportal.importing import run_import
    except ImportError as exc:
        return None, f"rmportal.importing not available ({exc})"
    try:
        with Stopwatch() as watch, path.open("rb") as fileobj:
            result = run_import("monthly", fileobj, filename="monthly.csv")
    except Exception:  # the bench reports a failing import instead of stopping
        return None, "import failed:\n" + traceback.format_exc(limit=3)
    return watch, f"import result: {result!r}"[:300]


def load_monthly_by_sql() -> None:
    """Fill MonthlyBusiness from the plain table when the portal's import could not."""
    cursor = raw_cursor()
    columns = [c for c in MONTHLY_COLUMNS if c not in ("client_no", "month")]
    cursor.execute(f"""
        INSERT INTO clients_monthlybusiness (client_id, month, {", ".join(columns)})
        SELECT c.id, to_date(b.month || '-01', 'YYYY-MM-DD'), {", ".join(f"COALESCE(b.{c}, '')" if c == "loan_term" else f"b.{c}" for c in columns)}
        FROM bench_monthly b JOIN clients_client c ON c.client_no = b.client_no""")
    cursor.connection.commit()


def vacuum_analyze() -> None:
    """Settle the freshly loaded tables (hint bits, statistics) so neither side pays for it."""
    cursor = raw_cursor()  # Django's connection is in autocommit mode, as VACUUM needs
    for table in ("bench_monthly", "clients_monthlybusiness", "clients_client", "clients_clientcontribution"):
        cursor.execute(f"VACUUM ANALYZE {table}")


def bare_valuation(branch_ids: list[int]) -> Stopwatch:
    """The formulas of DOMAIN 2.2 in one statement from the plain table, unit costs included."""
    from clients.contribution import contribution_parameters_resolve

    parameters = contribution_parameters_resolve(months=[MONTH], branch_ids=branch_ids)
    keys = list(BANK_PARAMETERS)
    values = ", ".join(
        "(" + ", ".join([str(branch_id)] + [f"CAST({parameters[(MONTH, branch_id)][k]} AS NUMERIC)" for k in keys]) + ")"
        for branch_id in branch_ids)
    cursor = raw_cursor()
    cursor.execute("""
        DROP TABLE IF EXISTS bench_contribution;
        CREATE TABLE bench_contribution (
            client_id bigint, month date, branch_id bigint, volume numeric(18,2),
            loan_revenue numeric(18,2), deposit_revenue numeric(18,2), wm_revenue numeric(18,2),
            card_revenue numeric(18,2), loan_profit numeric(18,2), deposit_profit numeric(18,2),
            wm_profit numeric(18,2), card_profit numeric(18,2), capital_charge numeric(18,2))""")
    cursor.connection.commit()
    unit = {line: f"CASE WHEN n.{count} = 0 THEN 0 ELSE p.cost_{line} / n.{count} END * v.{count}"
            for line, count in (("loan", "loan_accounts"), ("deposit", "deposit_accounts"),
                                ("wm", "wm_tx_count"), ("card", "card_count"))}
    with Stopwatch() as watch:
        cursor.execute(f"""
        INSERT INTO bench_contribution
        WITH p (branch_id, {", ".join(keys)}) AS (VALUES {values}),
        n AS (SELECT c.branch_id, sum(b.loan_accounts) AS loan_accounts,
                     sum(b.deposit_accounts) AS deposit_accounts, sum(b.wm_tx_count) AS wm_tx_count,
                     sum(b.card_count) AS card_count
              FROM bench_monthly b JOIN clients_client c ON c.client_no = b.client_no GROUP BY c.branch_id)
        SELECT r.client_id, %s, r.branch_id, r.volume,
               ROUND(r.loan_revenue, 2), ROUND(r.deposit_revenue, 2), ROUND(r.wm_revenue, 2),
               ROUND(r.card_revenue, 2),
               ROUND(r.loan_revenue - r.loan_cost, 2), ROUND(r.deposit_revenue - r.deposit_cost, 2),
               ROUND(r.wm_revenue - r.wm_cost, 2), ROUND(r.card_revenue - r.card_cost, 2),
               ROUND(r.capital_charge, 2)
        FROM (
            SELECT v.client_id, v.branch_id,
                   v.deposit_avg_balance + v.loan_avg_balance + v.wm_sales + v.insurance_sales
                       + v.fund_sales + v.bond_sales AS volume,
                   v.loan_interest_income * (1 - p.tax_rate) - v.loan_avg_balance * (CASE v.loan_term
                       {" ".join(f"WHEN '{t}' THEN p.ftp_loan_{t}" for t in LOAN_TERMS)} ELSE 0 END) / 12.0
                       AS loan_revenue,
                   v.deposit_avg_balance * p.ftp_deposit / 12.0 - v.deposit_interest_expense AS deposit_revenue,
                   v.wm_income - v.wm_expense - v.wm_income * p.tax_rate AS wm_revenue,
                   v.card_deposit_income + v.card_overdraft_income + v.card_fee_income
                       + v.card_annual_fee_income + v.card_rebate_income AS card_revenue,
                   {unit["loan"]} AS loan_cost, {unit["deposit"]} AS deposit_cost,
                   {unit["wm"]} AS wm_cost, {unit["card"]} AS card_cost,
                   v.loan_avg_balance * p.capital_ratio * p.cost_of_capital / 12.0 AS capital_charge
            FROM (SELECT c.id AS client_id, c.branch_id, b.*
                  FROM bench_monthly b JOIN clients_client c ON c.client_no = b.client_no) v
            JOIN n ON n.branch_id = v.branch_id JOIN p ON p.branch_id = v.branch_id
            OFFSET 0  -- evaluate each revenue once, as the engine does
        ) r""", [MONTH])
    return watch


def engine_recompute(*, empty: bool) -> tuple[Stopwatch, int]:
    from clients.contribution import contribution_recompute

    if empty:
        cursor = raw_cursor()
        cursor.execute("TRUNCATE clients_clientcontribution")
        cursor.execute("VACUUM ANALYZE clients_clientcontribution")
    with Stopwatch() as watch:
        written = contribution_recompute(months=[MONTH])
    return watch, written


def differences() -> int:
    cursor = raw_cursor()
    cursor.execute("""
        SELECT count(*) FROM bench_contribution b
        FULL JOIN clients_clientcontribution c ON c.client_id = b.client_id AND c.month = b.month
        WHERE (b.branch_id, b.volume, b.loan_revenue, b.deposit_revenue, b.wm_revenue, b.card_revenue,
               b.loan_profit, b.deposit_profit, b.wm_profit, b.card_profit, b.capital_charge)
              IS DISTINCT FROM
              (c.branch_id, c.volume, c.loan_revenue, c.deposit_revenue, c.wm_revenue, c.card_revenue,
               c.loan_profit, c.deposit_profit, c.wm_profit, c.card_profit, c.capital_charge)""")
    return cursor.fetchone()[0]


# --- report --------------------------------------------------------------------------------

def main() -> None:
    args = parse_args()
    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # Parallel workers' CPU would not show in the backend's figures; keep every step in one process.
    raw_cursor().execute("SET max_parallel_workers_per_gather = 0")
    rows = []

    def record(step, watch, baseline):
        rows.append((step, watch, baseline, peak_rss_mb()))

    with tempfile.TemporaryDirectory(prefix="rmportal-bench-") as tmp:
        workdir = Path(tmp)
        print(f"setting up {args.clients:,} clients …", flush=True)
        branch_ids = create_organisation()
        copy_clients(args.clients, branch_ids, workdir)
        csv_path = workdir / "monthly.csv"
        write_monthly_csv(args.clients, csv_path, args.seed)
        print(f"monthly CSV: {csv_path.stat().st_size / 2**20:.1f} MiB", flush=True)
        setup_rss = peak_rss_mb()

        copy = bare_copy(csv_path)
        record("(a) bare COPY", copy, copy)
        imported, note = portal_import(csv_path)
        record("(b) monthly import", imported, copy)
        print(note, flush=True)

        from clients.models import ClientContribution, MonthlyBusiness

        if MonthlyBusiness.objects.filter(month=MONTH).count() != args.clients:
            print("monthly rows loaded by SQL for the following steps", flush=True)
            MonthlyBusiness.objects.filter(month=MONTH).delete()
            load_monthly_by_sql()
        # The import may already have valued the month; (d) starts from an empty table.
        ClientContribution.objects.all().delete()
        vacuum_analyze()

        repeat = range(max(args.repeat, 1))
        bare = fastest([bare_valuation(branch_ids) for _ in repeat])
        record("(c) bare INSERT … SELECT", bare, bare)
        runs = [engine_recompute(empty=True) for _ in repeat]
        written = runs[0][1]
        record("(d) contribution_recompute", fastest([watch for watch, _n in runs]), bare)
        record("(d) again, over stored rows",
               fastest([engine_recompute(empty=False)[0] for _ in repeat]), bare)

    print()
    print(f"clients: {args.clients:,}   client-months valued by the engine: {written:,}   "
          f"differences between (c) and (d): {differences()}")
    print(f"(c) and (d): fastest of {max(args.repeat, 1)} runs   CPU: this process + its database backend   "
          f"peak RSS after setup: {setup_rss:.0f} MB")
    print(f"{'step':<30} {'seconds':>8} {'baseline s':>11} {'ratio':>6} "
          f"{'CPU s':>7} {'baseline CPU s':>15} {'CPU ratio':>10} {'peak RSS MB':>12}")
    for step, watch, baseline, rss in rows:
        print(f"{step:<30} {seconds(watch, 'wall'):>8} {seconds(baseline, 'wall'):>11} "
              f"{ratio(watch, baseline, 'wall'):>6} {seconds(watch, 'cpu'):>7} "
              f"{seconds(baseline, 'cpu'):>15} {ratio(watch, baseline, 'cpu'):>10} {rss:>12.0f}")


def fastest(watches: list[Stopwatch]) -> Stopwatch:
    best = Stopwatch()
    best.wall = min(watch.wall for watch in watches)
    cpus = [watch.cpu for watch in watches if watch.cpu is not None]
    best.cpu = min(cpus) if cpus else None
    return best


def seconds(watch: Stopwatch | None, attribute: str) -> str:
    value = getattr(watch, attribute, None)
    return f"{value:.2f}" if value is not None else "n/a"


def ratio(watch: Stopwatch | None, baseline: Stopwatch, attribute: str) -> str:
    value, base = getattr(watch, attribute, None), getattr(baseline, attribute)
    return f"{value / base:.2f}" if value is not None and base else "n/a"


if __name__ == "__main__":
    main()
