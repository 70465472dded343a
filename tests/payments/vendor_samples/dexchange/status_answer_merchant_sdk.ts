export interface MerchantTransactionDetails {
  Merchant: string;
  ItemName: string;
  Amount: number;
  Number: string;
  Status: string;
  Initiated_at: string;
  Completed_at: string | null;
  SuccessUrl: string;
}

export interface MerchantTransactionStatusResponse {
  message: string;
  transaction: MerchantTransactionDetails;
}
