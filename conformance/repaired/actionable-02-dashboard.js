function onItemQueried(data) {
  if (data.response.status === 500)
    return test.fail(data);
  return test.pass(data);
}
