  CURLOPT_POSTFIELDS => json_encode([
    'amount' => 123,
    'shop_name' => '<string>',
    'message' => '<string>',
    'success_url' => '<string>',
    'failure_url' => '<string>'
  ]),
