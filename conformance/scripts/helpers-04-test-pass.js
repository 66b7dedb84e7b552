function onItemQueried(data) {
  if (data.response.status == 200) {
    return test.pass(data)
  }
}
