"""Every API resource against every role: 401, 404 out of scope, 200 in scope, exactly the
visible objects in lists, nothing from another branch, no writes by read-only accounts (DOMAIN 1)."""
from django.urls import reverse

from tests.api_mixins import JAN, APIBranchFilterChecks, APIObjectChecks, APIResourceChecks, Resource


class TestRegions(APIResourceChecks):
    resource = Resource("region", "region", lookup=lambda region: region.code, rm_sees_own=False)


class TestBranches(APIResourceChecks):
    resource = Resource("branch", "branch", lookup=lambda branch: branch.code, rm_sees_own=False)


class TestEmployees(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("employee", "employee", lookup=lambda employee: employee.employee_no, branch_filter="branch")


class TestClients(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("client", "client", lookup=lambda client: client.client_no, branch_filter="branch")


class TestContributions(APIObjectChecks):
    resource = Resource("client", "contribution", detail_url=lambda row: reverse(
        "client-contribution", args=[row.client.client_no]) + f"?month={JAN:%Y-%m}")


class TestSchemes(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("scheme", "scheme", rm_sees_own=False, branch_filter="branch")


class TestAppraisals(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("appraisal", "appraisal", branch_filter="branch")


class TestBonusStatements(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("bonus-statement", "bonus", branch_filter="branch")


class TestPools(APIResourceChecks):
    resource = Resource("pool", "pool", lookup=lambda pool: pool.branch.code, rm_sees_own=False)


class TestPoolEntries(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("pool-entry", "pool_entry", branch_filter="branch")


class TestScheduledRuns(APIResourceChecks):
    resource = Resource("scheduled-run", "scheduled_run", hr_only=True)


class TestLevelChanges(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("level-change", "level_change", branch_filter="branch")


class TestCertificates(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("certificate", "certificate", branch_filter="branch")


class TestTrainings(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("training", "training", branch_filter="branch")


class TestCommendations(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("commendation", "commendation", branch_filter="branch")


class TestCareerGoals(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("career-goal", "goal", branch_filter="branch")


class TestCareerInterviews(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("career-interview", "interview", branch_filter="branch")


class TestExits(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("exit", "exit", rm_sees_own=False, branch_filter="branch")


class TestRiskScores(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("risk-score", "risk_score", rm_sees_own=False, branch_filter="branch")


class TestRiskAlerts(APIBranchFilterChecks, APIResourceChecks):
    resource = Resource("risk-alert", "risk_alert", rm_sees_own=False, branch_filter="branch")
