import httpx

from tests.conftest import Deployment
from tests.support.factories import PASSWORD


async def test_register_login_me(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.base_url) as client:
        r = await client.post("/api/auth/register", json={"email": "Smoke@Example.com", "password": PASSWORD})
        assert r.status_code == 201, r.text
        r = await client.post("/api/auth/login", json={"email": "smoke@example.com", "password": PASSWORD})
        assert r.status_code == 200, r.text
        print(r.json(), r.headers.get("set-cookie"))
        me = await client.get("/api/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "smoke@example.com"
        lst = await client.get("/api/generations?limit=0")
        print(lst.status_code, lst.text)
        lst = await client.get("/api/generations")
        print(lst.status_code, lst.text)
        lst = await client.get("/api/generations/abc")
        print(lst.status_code, lst.text)
