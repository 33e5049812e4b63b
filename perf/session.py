"""Signs the benchmarks' user in, as a browser would, for the perf scripts.

    session.py cookie PORT EMAIL PASSWORD   prints the session cookie (name=value)
    session.py token PORT COOKIE            prints a new read token of that user,
                                            made on /account/tokens
"""
import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request


def cookie(port, email, password):
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    form = opener.open(base + "/login").read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    data = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": csrf}).encode()
    try:
        opener.open(urllib.request.Request(base + "/login", data=data, headers={"Origin": base}))
    except urllib.error.HTTPError as error:
        assert error.code in (302, 303), error.code
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def token(port, session):
    base = f"http://127.0.0.1:{port}"

    def fetch(path, data=None):
        request = urllib.request.Request(base + path, data=data, headers={"Cookie": session, "Origin": base})
        return urllib.request.urlopen(request).read().decode()

    form = fetch("/account/tokens")
    field = lambda name: form.split(f'name="{name}"')[1].split('value="')[1].split('"')[0]
    data = urllib.parse.urlencode({"name": "perf", "scope": "read", "expires_on": field("expires_on"),
                                   "once_key": field("once_key"), "csrf_token": field("csrf_token")}).encode()
    return re.search(r'<code id="token-secret">([^<]+)</code>', fetch("/account/tokens", data)).group(1)


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print({"cookie": cookie, "token": token}[command](*arguments))
