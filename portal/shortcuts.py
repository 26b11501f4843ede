"""View helpers: role checks that answer 404 like every out-of-scope object does."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404


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
