# The shape of an OpenFaaS python3 template function (github.com/openfaas/templates, template/python3).
def handle(req):
    """handle a request to the function
    Args:
        req (str): request body
    """
    return req[::-1]
