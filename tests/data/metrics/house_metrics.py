"""Python callables used by the tests as suite metrics: f(prediction, reference) -> number or bool."""


def exact_match(prediction: str, reference: str) -> bool:
    return prediction.strip().lower() == reference.strip().lower()


NOT_CALLABLE = 3
