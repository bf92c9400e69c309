"""Benchmark of run_appraisals against one bare SQL query over the same rows (PostgreSQL).

    python bench/appraisal.py [--rms 3000] [--clients 300000] [--months 12]
                              [--database-url postgres://postgres@127.0.0.1:5432/rmportal_bench]

Drops and re-creates the bench database (its name must contain "bench"), builds a bank of
branches with 10 RMs each, clients spread over the RMs (5 % of them handed to a colleague
mid-year), a year of monthly business data plus the previous December, stored contributions and
call-backs, all generated in SQL, and one scheme per branch (the example of DOMAIN 3.1.1). Then
times, for a month and for a quarter:

  (a) one bare SQL query computing the per-RM sums of the period by book owner (the baseline);
  (b) run_appraisals for the period, into empty tables;
  (c) run_appraisals again over the stored appraisals (nothing changes).

Prints seconds, the baseline, their ratio and the peak RSS. Never run as a test.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from contribution import peak_rss_mb, raw_cursor, recreate_database, setup_django  # noqa: E402

RMS_PER_BRANCH = 10
YEAR = 2026


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rms", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=300_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/rmportal_bench")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each step; the fastest counts")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the bench database of an earlier run instead of building it again")
    return parser.parse_args()


def build_bank(rms: int, clients: int, months: int) -> None:
    from clients.models import Branch, Region

    branches = max(rms // RMS_PER_BRANCH, 1)
    regions = Region.objects.bulk_create([Region(code=f"R{n}", name=f"Region {n}") for n in range(1, 5)])
    Branch.objects.bulk_create([Branch(code=f"B{n:04d}", name=f"Branch {n}", region=regions[n % 4])
                                for n in range(branches)])
    cursor = raw_cursor()
    cursor.execute("SELECT setseed(0.42)")
    cursor.execute(f"""
        INSERT INTO clients_employee (employee_no, name, branch_id, role, status, hired_on, email)
        SELECT 'E' || lpad(n::text, 6, '0'), 'RM ' || n, b.id, 'rm', 'active', DATE '2018-01-01', ''
        FROM generate_series(0, {branches * RMS_PER_BRANCH - 1}) n
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS slot FROM clients_branch) b
          ON b.slot = n / {RMS_PER_BRANCH}""")
    cursor.execute("CREATE TEMP TABLE rm_slots AS SELECT id, branch_id, row_number() OVER (ORDER BY id) - 1 AS slot "
                   "FROM clients_employee")
    cursor.execute(f"""
        INSERT INTO clients_client (client_no, name, client_type, segment, branch_id, status, opened_on, lost_on,
                                    lost_reason)
        SELECT 'C' || lpad(n::text, 9, '0'), 'Client ' || n, 'individual',
               CASE WHEN n % 50 = 0 THEN 'private' WHEN n % 7 = 0 THEN 'affluent' ELSE 'mass' END,
               r.branch_id, CASE WHEN n % 40 = 0 THEN 'lost' ELSE 'active' END, DATE '2020-01-01',
               CASE WHEN n % 40 = 0 THEN DATE '{YEAR}-01-01' + (n % 360) ELSE NULL END, ''
        FROM generate_series(0, {clients - 1}) n JOIN rm_slots r ON r.slot = n % {branches * RMS_PER_BRANCH}""")
    # Every client starts with the RM of its slot; 5 % move to the next RM of the branch mid-year.
    cursor.execute(f"""
        INSERT INTO clients_assignment (client_id, rm_id, started_on, ended_on, reason, note)
        SELECT c.id, r.id, c.opened_on,
               CASE WHEN c.id % 20 = 0 THEN DATE '{YEAR}-01-01' + (c.id % 300)::int
                    WHEN c.status = 'lost' THEN c.lost_on END, 'onboarding', ''
        FROM clients_client c JOIN rm_slots r ON r.slot = (c.id - 1) % {branches * RMS_PER_BRANCH}""")
    cursor.execute(f"""
        INSERT INTO clients_assignment (client_id, rm_id, started_on, ended_on, reason, note)
        SELECT a.client_id, r2.id, a.ended_on, NULL, 'rebalancing', ''
        FROM clients_assignment a JOIN rm_slots r ON r.id = a.rm_id
        JOIN rm_slots r2 ON r2.branch_id = r.branch_id AND r2.slot = r.slot - r.slot % {RMS_PER_BRANCH}
                                                                  + (r.slot + 1) % {RMS_PER_BRANCH}
        JOIN clients_client c ON c.id = a.client_id
        WHERE a.ended_on IS NOT NULL AND c.status = 'active'""")
    month_list = ", ".join(f"DATE '{YEAR}-{m:02d}-01'" for m in range(1, months + 1))
    cursor.execute(f"""
        INSERT INTO clients_monthlybusiness (client_id, month, deposit_avg_balance, deposit_interest_expense,
            deposit_accounts, loan_avg_balance, loan_interest_income, loan_accounts, loan_term, loan_npl_balance,
            wm_income, wm_expense, wm_tx_count, wm_sales, card_count, card_deposit_income, card_overdraft_income,
            card_fee_income, card_annual_fee_income, card_rebate_income, insurance_sales, fund_sales, bond_sales)
        SELECT c.id, m, round((random() * 200000)::numeric, 2), round((random() * 100)::numeric, 2), 1,
               CASE WHEN c.id % 5 = 0 THEN round((random() * 1000000)::numeric, 2) ELSE 0 END,
               CASE WHEN c.id % 5 = 0 THEN round((random() * 4000)::numeric, 2) ELSE 0 END,
               CASE WHEN c.id % 5 = 0 THEN 1 ELSE 0 END, CASE WHEN c.id % 5 = 0 THEN '1y_3y' ELSE '' END,
               CASE WHEN c.id % 250 = 0 THEN round((random() * 50000)::numeric, 2) ELSE 0 END,
               round((random() * 300)::numeric, 2), round((random() * 50)::numeric, 2), (random() * 3)::int,
               round((random() * 50000)::numeric, 2), 1, 1, 0, 2, 0, 1,
               round((random() * 5000)::numeric, 2), round((random() * 20000)::numeric, 2),
               round((random() * 8000)::numeric, 2)
        FROM clients_client c
        CROSS JOIN unnest(ARRAY[DATE '{YEAR - 1}-12-01', {month_list}]) m
        WHERE c.lost_on IS NULL OR c.lost_on > m""")
    cursor.execute("""
        INSERT INTO clients_clientcontribution (client_id, month, branch_id, volume, loan_revenue, deposit_revenue,
            wm_revenue, card_revenue, loan_profit, deposit_profit, wm_profit, card_profit, capital_charge)
        SELECT mb.client_id, mb.month, c.branch_id, mb.deposit_avg_balance + mb.loan_avg_balance,
               mb.loan_interest_income, mb.deposit_avg_balance * 0.0015, mb.wm_income, 4,
               mb.loan_interest_income - 200, mb.deposit_avg_balance * 0.0015 - 30, mb.wm_income - 10, -6,
               round(mb.loan_avg_balance * 0.105 * 0.1 / 12, 2)
        FROM clients_monthlybusiness mb JOIN clients_client c ON c.id = mb.client_id""")
    cursor.execute(f"""
        INSERT INTO clients_interaction (client_id, employee_id, kind, occurred_on, score, channel, comment)
        SELECT c.id, NULL, 'callback', DATE '{YEAR}-01-15' + (c.id % 330)::int, 3 + (c.id % 3), 'phone', ''
        FROM clients_client c WHERE c.id % 3 = 0""")
    cursor.connection.commit()
    for table in ("clients_employee", "clients_client", "clients_assignment", "clients_monthlybusiness",
                  "clients_clientcontribution", "clients_interaction"):
        cursor.execute(f"VACUUM ANALYZE {table}")


def load_schemes() -> None:
    from clients.models import Branch
    from performance.schemes import scheme_import

    template = {
        "name": "bench", "contribution_method": 3, "pool_rate": "0.10",
        "indicators": [
            {"code": "dep", "name": "deposits", "category": "performance", "source": "metric",
             "metric": "deposit_avg_increase", "weight": "20", "method": "ratio", "cap": "1.2", "target": "50000",
             "periods": ["month", "quarter", "year"]},
            {"code": "npl", "name": "npl", "category": "performance", "source": "metric", "metric": "npl_ratio",
             "weight": "10", "method": "inverse", "target": "0.01", "ceiling": "0.05", "periods": ["quarter", "year"]},
            {"code": "fund", "name": "funds", "category": "performance", "source": "metric", "metric": "fund_sales",
             "weight": "20", "method": "bands", "bands": [["0", "0"], ["100000", "0.6"], ["300000", "1"]],
             "periods": ["month", "quarter", "year"]},
            {"code": "contribution", "name": "contribution", "category": "performance", "source": "metric",
             "metric": "client_contribution", "weight": "20", "method": "ratio", "target": "200000",
             "periods": ["month", "quarter", "year"]},
            {"code": "sat", "name": "satisfaction", "category": "comprehensive", "source": "survey",
             "weight": "10", "method": "ratio", "target": "0.9", "periods": ["month", "quarter", "year"]},
            {"code": "churn", "name": "churn", "category": "comprehensive", "source": "churn", "weight": "10",
             "method": "inverse", "target": "0", "ceiling": "0.1", "periods": ["month", "quarter", "year"]},
            {"code": "local", "name": "local", "category": "adjustment", "source": "manual", "weight": "10",
             "method": "manual", "periods": ["quarter", "year"]},
        ],
    }
    for code in Branch.objects.values_list("code", flat=True):
        scheme_import(data={**template, "code": f"{code}-{YEAR}", "branch_code": code})


def bare_sums(period) -> float:
    """The baseline: per-RM sums of the period's rows, each month counted for its book owner."""
    from performance.metrics import CONTRIBUTION_SQL, _months_cte

    cte, params = _months_cte(period.months)
    cursor = raw_cursor()
    started = time.perf_counter()
    cursor.execute(f"""{cte}
        SELECT a.rm_id, SUM(mb.deposit_avg_balance), SUM(mb.loan_avg_balance), SUM(mb.loan_npl_balance),
               SUM(mb.insurance_sales), SUM(mb.fund_sales), SUM(mb.bond_sales), SUM(mb.wm_income),
               SUM({CONTRIBUTION_SQL[3]})
        FROM p JOIN clients_monthlybusiness mb ON mb.month = p.month
        JOIN clients_clientcontribution cc ON cc.client_id = mb.client_id AND cc.month = mb.month
        JOIN clients_assignment a ON a.client_id = mb.client_id
         AND a.started_on <= p.last_day AND (a.ended_on IS NULL OR a.ended_on > p.last_day)
        GROUP BY a.rm_id""", params)
    rows = cursor.fetchall()
    elapsed = time.perf_counter() - started
    assert rows
    return elapsed


def run(period_key: str) -> tuple[float, object]:
    from performance.appraisals import appraisal_run

    started = time.perf_counter()
    result = appraisal_run(period=period_key)
    return time.perf_counter() - started, result


def main() -> None:
    args = parse_args()
    if not args.reuse:
        recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.core.management import call_command

    from performance.models import Appraisal, AppraisalLine
    from performance.periods import Period

    call_command("migrate", verbosity=0)
    if not args.reuse:
        print(f"building {args.rms:,} RMs, {args.clients:,} clients, {args.months} months …", flush=True)
        started = time.perf_counter()
        build_bank(args.rms, args.clients, args.months)
        load_schemes()
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)

    rows = []
    repeat = range(max(args.repeat, 1))
    for key in (f"{YEAR}-06", f"{YEAR}-Q2"):
        period = Period.parse(key)
        baseline = min(bare_sums(period) for _ in repeat)
        rows.append((f"{key} (a) bare SQL per-RM sums", baseline, baseline, peak_rss_mb()))
        first = []
        for _ in repeat:
            Appraisal.history.model.objects.all().delete()
            AppraisalLine.history.model.objects.all().delete()
            AppraisalLine.objects.all().delete()
            Appraisal.objects.all().delete()
            seconds, result = run(key)
            first.append(seconds)
        rows.append((f"{key} (b) run_appraisals", min(first), baseline, peak_rss_mb()))
        again = min(run(key)[0] for _ in repeat)
        rows.append((f"{key} (c) run again, unchanged", again, baseline, peak_rss_mb()))
        print(f"{key}: {result.created} appraisals, {AppraisalLine.objects.count()} lines", flush=True)

    print()
    print(f"RMs: {args.rms:,}   clients: {args.clients:,}   months: {args.months} (+ previous December)   "
          f"fastest of {len(repeat)}")
    print(f"{'step':<36} {'seconds':>9} {'baseline s':>11} {'ratio':>7} {'peak RSS MB':>12}")
    for step, seconds, baseline, rss in rows:
        print(f"{step:<36} {seconds:>9.2f} {baseline:>11.2f} {seconds / baseline:>7.2f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
