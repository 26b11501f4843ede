"""View helpers: role checks and service refusals that answer 404 like every out-of-scope object does."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404

from portal.errors import NotFound, PermissionDenied, PortalError


def role_required(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not request.user.has_role(*roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def http_refusal(exc: PortalError) -> None:
    """A service's refusal as a page answers it: NotFound (out of scope) → 404, PermissionDenied (in scope, not
    allowed) → 403. Any other refusal returns, for the page to show as a message or on its form."""
    if isinstance(exc, NotFound):
        raise Http404(str(exc.detail)) from exc
    if isinstance(exc, PermissionDenied):
        raise DjangoPermissionDenied(str(exc.detail)) from exc


def service_errors(form, exc: PortalError) -> None:
    """Put a service's refusal onto `form`: each message under the field the service named (the form's own errors
    when the form has no such field), or the refusal's detail when it named none."""
    for field, problems in (exc.errors or {None: [exc.detail]}).items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, str(problem))


def access_or_404(fn, *args, **kwargs):
    """Call an access helper (`access_<entity>_by_id`): its NotFound as 404, its PermissionDenied as 403."""
    try:
        return fn(*args, **kwargs)
    except PortalError as exc:
        http_refusal(exc)
        raise
