from rmportal import scoping


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "current_role": scoping.role_of(user) if user is not None else None,
        "current_employee": scoping.employee_of(user) if user is not None else None,
    }
