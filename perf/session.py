"""Signs the benchmarks' user in, as a browser would, for the perf scripts.

    session.py cookie PORT EMAIL PASSWORD   prints the session cookie (name=value)
    session.py token PORT COOKIE            prints a new read token of that user,
                                            made on /account/tokens
    session.py import PORT COOKIE STUDY     uploads a file of 200 activities for
                                            STUDY and prints its preview's path
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


def upload(port, session, study):
    base = f"http://127.0.0.1:{port}"
    form = urllib.request.urlopen(urllib.request.Request(base + "/activities/import", headers={"Cookie": session})).read().decode()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    lines = ["kind,held_on,district,commune,place,citizen_female,citizen_male,youth,finding_1,theme_1"]
    lines += [f"fgd,2026-11-{1 + n % 28:02},Bavel,Ampil Pram Daeum,Village {n},{1 + n % 13},{1 + n % 11},{n % 2},"
              f"Residents of village {n} ask for the commune budget on the notice board.,Budget transparency"
              for n in range(200)]
    boundary = "samlengperfboundary"
    parts = [("csrf_token", None, csrf), ("study_id", None, study), ("file", "perf.csv", "\r\n".join(lines))]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'.encode()
        + (f'; filename="{filename}"\r\nContent-Type: text/csv' if filename else "").encode()
        + b"\r\n\r\n" + value.encode() + b"\r\n"
        for name, filename, value in parts) + f"--{boundary}--\r\n".encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(base + "/activities/import", data=body, headers={
        "Cookie": session, "Origin": base, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        answer = urllib.request.build_opener(NoRedirect).open(request)
        raise SystemExit(f"the upload answered {answer.status}, not a redirect to its preview")
    except urllib.error.HTTPError as error:
        if error.code != 303:
            raise SystemExit(f"the upload answered {error.code}: " + error.read().decode())
        return error.headers["Location"]


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    print({"cookie": cookie, "token": token, "import": upload}[command](*arguments))
