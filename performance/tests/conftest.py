import copy
import datetime as dt

import pytest

from clients.models import MonthlyBusiness
from performance.schemes import scheme_import

# The example scheme file of DOMAIN 3.1.1.
EXAMPLE_SCHEME = {
    "code": "B01-2026", "name": "B01 2026", "branch_code": "B01", "contribution_method": 3, "pool_rate": "0.10",
    "grade_coefficients": {"excellent": "1.5", "good": "1.2", "pass": "1.0", "basic": "0.8", "fail": "0.5"},
    "indicators": [
        {"code": "dep", "name": "存款日均新增", "category": "performance", "source": "metric",
         "metric": "deposit_avg_increase", "weight": "30", "method": "ratio", "cap": "1.2",
         "periods": ["month", "quarter", "year"]},
        {"code": "npl", "name": "贷款不良率", "category": "performance", "source": "metric", "metric": "npl_ratio",
         "weight": "10", "method": "inverse", "target": "0.01", "ceiling": "0.05", "periods": ["quarter", "year"]},
        {"code": "fund", "name": "基金销售", "category": "performance", "source": "metric", "metric": "fund_sales",
         "weight": "20", "method": "bands", "bands": [["0", "0"], ["100000", "0.6"], ["300000", "1"]],
         "periods": ["month", "quarter", "year"]},
        {"code": "sat", "name": "客户满意度", "category": "comprehensive", "source": "survey",
         "metric": "satisfaction", "weight": "10", "method": "ratio", "target": "0.9", "periods": ["year"]},
        {"code": "ability", "name": "工作能力", "category": "comprehensive", "source": "manual", "weight": "20",
         "method": "manual", "periods": ["year"]},
        {"code": "local", "name": "特色业务", "category": "adjustment", "source": "manual", "weight": "10",
         "method": "manual", "periods": ["quarter", "year"]},
    ],
}


@pytest.fixture
def scheme_data():
    return copy.deepcopy(EXAMPLE_SCHEME)


@pytest.fixture
def scheme(branch, scheme_data):
    return scheme_import(data=scheme_data)


@pytest.fixture
def monthly():
    """monthly(client, "2026-01", deposit_avg_balance=…, …) stores one client-month."""

    def make(client, month, **amounts):
        year, mon = map(int, month.split("-"))
        return MonthlyBusiness.objects.update_or_create(client=client, month=dt.date(year, mon, 1),
                                                        defaults=amounts)[0]

    return make
